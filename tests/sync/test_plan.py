"""The plan is pure: rows, listed items and wanted products in, a plan out, nothing written."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from connhub.models import SyncItemState, utcnow
from connhub.ports.goods import ListedItem
from connhub.sync.mapping import MappingPolicy, ProductFacts, VkItem, map_product
from connhub.sync.plan import NOT_OURS, Row, Wanted, in_flight_wait, make_plan
from connhub.sync.policies import RemovedPolicy


def wanted(*ids: str) -> dict[str, Wanted]:
    out = {}
    for pid in ids:
        item = map_product(ProductFacts(id=pid, name=f"Товар {pid}", measure="шт", price=Decimal(100)), MappingPolicy())
        assert isinstance(item, VkItem)
        out[pid] = Wanted(pid, f"Товар {pid}", item)
    return out


def synced(row_id: int, pid: str, item_id: int, fingerprint: str = "") -> Row:
    return Row(row_id, pid, item_id, SyncItemState.SYNCED, fingerprint, {"name": f"Товар {pid}"})


def pending(row_id: int, pid: str, not_ours: list[int] | None = None) -> Row:
    return Row(row_id, pid, None, SyncItemState.PENDING, "", {NOT_OURS: not_ours} if not_ours is not None else {})


def test_a_lost_add_not_listed_yet_is_waited_for_until_it_can_no_longer_land():
    now = utcnow()
    sent = Row(1, "a", None, SyncItemState.PENDING, "", {NOT_OURS: [10]}, written_at=now - timedelta(seconds=4))
    assert in_flight_wait([sent], [ListedItem(10, "a")], now, write_deadline=15) == 11  # only a foreign twin listed
    assert in_flight_wait([sent], [ListedItem(10, "a"), ListedItem(11, "a")], now, write_deadline=15) == 0  # landed
    assert in_flight_wait([sent], [], now, write_deadline=3) == 0  # sent longer ago than any request lasts
    assert in_flight_wait([synced(2, "b", 12)], [], now, write_deadline=15) == 0  # nothing pending


def test_a_lost_add_is_adopted_only_from_items_that_were_not_there_before_it():
    plan = make_plan(wanted("a"), [], {"a": pending(1, "a", not_ours=[10])},
                     [ListedItem(10, "a"), ListedItem(11, "a")], RemovedPolicy.HIDE)
    assert plan.adopt == [(1, 11)] and [w.product_id for _, w in plan.edits] == ["a"] and plan.adds == []


def test_a_foreign_item_with_our_sku_alone_means_the_add_never_happened():
    plan = make_plan(wanted("a"), [], {"a": pending(1, "a", not_ours=[10])}, [ListedItem(10, "a")],
                     RemovedPolicy.HIDE)
    assert plan.adopt == [] and [w.product_id for w in plan.adds] == ["a"]
    assert plan.taken_skus == {"a": (10,)}  # the next pending row remembers it as not ours


def test_an_item_gone_is_forgotten_and_made_again_and_unchanged_ones_cost_nothing():
    want = wanted("a", "b")
    rows = {"a": synced(1, "a", 10), "b": synced(2, "b", 20, want["b"].item.fingerprint)}
    plan = make_plan(want, [], rows, [ListedItem(20, "b")], RemovedPolicy.HIDE)
    assert plan.forget == [1] and [w.product_id for w in plan.adds] == ["a"] and plan.unchanged == ["b"]


def test_a_product_that_left_follows_the_removal_policy_and_foreign_items_are_never_in_the_plan():
    rows = {"gone": synced(1, "gone", 10)}
    listed = [ListedItem(10, "gone"), ListedItem(99, "someone-else")]
    assert [r.product_id for r in make_plan({}, [], rows, listed, RemovedPolicy.HIDE).hides] == ["gone"]
    plan = make_plan({}, [], rows, listed, RemovedPolicy.DELETE)
    assert [r.item_id for r in plan.deletes] == [10] and plan.writes == 1
