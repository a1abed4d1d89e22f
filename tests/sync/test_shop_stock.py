"""«Передавать остаток» (connhub.sync.shop_options) against the sandbox's VK goods, on SQLite and
PostgreSQL: off by default, on sends the floored, clamped Evotor quantity, and a change of the
quantity alone is exactly one edit."""

from __future__ import annotations

from decimal import Decimal

from connhub.models import SyncRunState
from connhub.sync.runs import Trigger
from connhub.sync.service import run_now
from connhub.sync.shop_options import ShopOptions, get_options, save_options
from tests.support.connect import make_user
from tests.support.goods import by_sku, change_product, ready_for_goods

WRITES = ("market.add", "market.edit", "market.delete", "market.restore", "market.saveProductPhoto")


def sync(rt, user):
    _run, outcome = run_now(rt, user.id, trigger=Trigger.CLI, triggered_by="test")
    assert outcome.state == SyncRunState.FINISHED
    return outcome


def writes(vk_goods) -> dict[str, int]:
    return {m: n for m, n in vk_goods.stats()["calls"].items() if m in WRITES}


def stocks(vk_goods) -> dict[str, int | None]:
    return {sku: items[0].get("stock_amount") for sku, items in by_sku(vk_goods).items()}


def test_stock_is_off_by_default_and_not_sent(db_rt, vk_goods):
    user = make_user(db_rt, "alice")
    ready_for_goods(db_rt, user, vk_goods)
    assert get_options(db_rt.sessions, user.id) == ShopOptions(send_stock=False)
    sync(db_rt, user)
    assert set(stocks(vk_goods).values()) == {None}


def test_stock_on_sends_the_quantity_and_a_quantity_change_alone_is_one_edit(db_rt, vk_goods):
    user = make_user(db_rt, "alice")
    snapshot = ready_for_goods(db_rt, user, vk_goods)
    change_product(db_rt, snapshot, "p-sencha", quantity=Decimal("7.9"))
    change_product(db_rt, snapshot, "p-latte", quantity=Decimal("-3"))
    change_product(db_rt, snapshot, "p-assam", quantity=Decimal("2000000"))
    assert save_options(db_rt.sessions, user.id, ShopOptions(send_stock=True))
    sync(db_rt, user)
    published = stocks(vk_goods)
    assert (published["p-sencha"], published["p-latte"], published["p-assam"]) == (7, 0, 999_999)

    change_product(db_rt, snapshot, "p-sencha", quantity=Decimal("3"))
    vk_goods.reset_stats()
    outcome = sync(db_rt, user)
    assert writes(vk_goods) == {"market.edit": 1}
    assert outcome.counts["changed"] == 1
    assert stocks(vk_goods)["p-sencha"] == 3

    vk_goods.reset_stats()
    sync(db_rt, user)
    assert writes(vk_goods) == {}


def test_turning_stock_on_edits_only_the_items_whose_quantity_evotor_knows(db_rt, vk_goods):
    """A product without a quantity (no stock right in Evotor) gets no stock_amount and no edit."""
    user = make_user(db_rt, "alice")
    snapshot = ready_for_goods(db_rt, user, vk_goods)
    sync(db_rt, user)
    change_product(db_rt, snapshot, "p-gyokuro", quantity=Decimal("12"))
    save_options(db_rt.sessions, user.id, ShopOptions(send_stock=True))
    vk_goods.reset_stats()
    sync(db_rt, user)
    assert writes(vk_goods) == {"market.edit": 1}
    published = stocks(vk_goods)
    assert published.pop("p-gyokuro") == 12 and set(published.values()) == {None}


def test_options_cannot_be_saved_before_the_sync_is_configured(db_rt):
    user = make_user(db_rt, "bob")
    assert save_options(db_rt.sessions, user.id, ShopOptions(send_stock=True)) is False
    assert get_options(db_rt.sessions, user.id) == ShopOptions(send_stock=False)
