"""The sync engine against the sandbox's VK goods over HTTP: what ends up in the community, what it
costs in VK calls, and that an interrupted run never leaves a duplicate behind."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest

from connhub.models import SyncRunState
from connhub.ports.images import ImageBytes
from connhub.providers.vk.sandbox import GoodsControl
from connhub.sync.runs import Trigger
from connhub.sync.service import run_now
from tests.support.goods import (
    add_products,
    by_sku,
    change_product,
    community,
    last_run,
    ready_for_goods,
    remove_product,
)
from tests.support.images import image_bytes
from tests.support.sync import GROUP

SELECTED = {"p-sencha", "p-gyokuro", "p-assam", "p-latte"}  # p-espresso has a zero price: skipped


class Killed(BaseException):
    """The process dies here (like SIGKILL, nothing after it runs)."""


def from_bytes(images: dict[str, bytes]):
    """An image source over files at hand (looked up at each call, so a test may change them)."""
    def source(store_id: str, product_id: str) -> ImageBytes | None:
        data = images.get(product_id)
        return ImageBytes.of(data) if data is not None else None
    return source


@contextmanager
def catalog_sidecar(rt) -> Iterator[list]:
    """The sidecar's catalog worker in a thread, running queued refresh jobs until the block ends."""
    from connhub.catalog import refresh
    from connhub.catalog.worker import open_source

    stop = threading.Event()
    ran: list = []

    def work() -> None:
        while not stop.is_set():
            ran.extend(refresh.run_pending(rt.sessions, "sidecar", lambda cid: open_source(rt, cid)))
            stop.wait(0.05)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        yield ran
    finally:
        stop.set()
        thread.join(timeout=30)


def touch_back(rt, snapshot_id: int, when) -> None:
    from sqlalchemy import update

    from connhub.models import CatalogSnapshot

    with rt.sessions() as session:
        session.execute(update(CatalogSnapshot).where(CatalogSnapshot.id == snapshot_id).values(completed_at=when))
        session.commit()


def sync(rt, user, **options):
    _run, outcome = run_now(rt, user.id, trigger=Trigger.CLI, triggered_by="test", **options)
    return outcome


def write_calls(vk_goods: GoodsControl) -> dict[str, int]:
    calls = vk_goods.stats()["calls"]
    return {m: n for m, n in calls.items() if m in ("market.add", "market.edit", "market.delete", "market.restore",
                                                     "market.saveProductPhoto", "market.saveProductPhotoBulk")}


def test_first_run_publishes_exactly_the_selected_products(rt, alice, vk_goods):
    ready_for_goods(rt, alice, vk_goods)
    outcome = sync(rt, alice)
    assert outcome.state == SyncRunState.FINISHED
    items = by_sku(vk_goods)
    assert set(items) == SELECTED
    sencha = items["p-sencha"][0]
    assert sencha["title"] == "Сенча" and sencha["price"]["amount"] == "120050"
    assert sencha["description"] == "Сенча (цена за кг)" and sencha["category"]["id"] == 500
    assert outcome.counts["added"] == 4 and outcome.counts["skipped"] == 1
    run = last_run(rt)
    assert run.state == SyncRunState.FINISHED and run.counts["added"] == 4 and run.trigger == Trigger.CLI
    assert run.duration_ms is not None and run.plan["skip"][0]["product_id"] == "p-espresso"


def test_second_run_with_nothing_changed_makes_no_write_call(rt, alice, vk_goods):
    ready_for_goods(rt, alice, vk_goods)
    sync(rt, alice)
    vk_goods.reset_stats()
    outcome = sync(rt, alice)
    assert outcome.counts["unchanged"] == 4 and outcome.counts["added"] == outcome.counts["changed"] == 0
    assert write_calls(vk_goods) == {}
    assert vk_goods.stats()["requests_total"] <= 1 + 3


def test_a_changed_price_edits_only_that_item(rt, alice, vk_goods):
    snapshot = ready_for_goods(rt, alice, vk_goods)
    sync(rt, alice)
    change_product(rt, snapshot, "p-latte", price=Decimal("275.50"))
    vk_goods.reset_stats()
    outcome = sync(rt, alice)
    assert outcome.counts["changed"] == 1 and outcome.counts["unchanged"] == 3
    assert write_calls(vk_goods) == {"market.edit": 1}
    latte = by_sku(vk_goods)["p-latte"][0]
    assert latte["price"]["amount"] == "27550" and latte["edits"] == 1


@pytest.mark.parametrize("moment", ["before_add", "after_add"])
def test_a_run_killed_around_the_add_leaves_no_duplicate(rt, alice, vk_goods, moment):
    ready_for_goods(rt, alice, vk_goods)

    def die(step):
        if step == moment:
            raise Killed

    with pytest.raises(Killed):
        sync(rt, alice, checkpoint=die)
    assert last_run(rt).state == SyncRunState.FAILED
    outcome = sync(rt, alice)
    assert outcome.state == SyncRunState.FINISHED
    items = by_sku(vk_goods)
    assert set(items) == SELECTED and all(len(found) == 1 for found in items.values())
    vk_goods.reset_stats()
    assert sync(rt, alice).counts["unchanged"] == 4 and write_calls(vk_goods) == {}


def test_a_run_killed_between_batches_leaves_no_duplicate(rt, alice, vk_goods):
    snapshot = ready_for_goods(rt, alice, vk_goods)
    add_products(rt, snapshot, 30)
    seen = []

    def die_in_second_batch(step):
        seen.append(step)
        if step == "after_add" and seen.count("after_add") == 2:
            raise Killed

    with pytest.raises(Killed):
        sync(rt, alice, checkpoint=die_in_second_batch)
    assert 25 <= len(community(vk_goods)) <= 34
    outcome = sync(rt, alice)
    items = by_sku(vk_goods)
    assert len(items) == 34 and all(len(found) == 1 for found in items.values())
    assert outcome.counts["added"] + outcome.counts["changed"] >= 9


def test_an_item_deleted_by_hand_is_created_again(rt, alice, vk_goods):
    ready_for_goods(rt, alice, vk_goods)
    sync(rt, alice)
    vk_goods.delete_by_hand(GROUP, by_sku(vk_goods)["p-assam"][0]["id"])
    outcome = sync(rt, alice)
    assert outcome.counts["added"] == 1 and set(by_sku(vk_goods)) == SELECTED


@pytest.mark.parametrize("policy", ["hide", "delete"])
def test_a_product_that_left_the_catalog_follows_the_removal_policy(rt, alice, vk_goods, policy):
    snapshot = ready_for_goods(rt, alice, vk_goods, on_removed=policy)
    sync(rt, alice)
    remove_product(rt, snapshot, "p-gyokuro")
    outcome = sync(rt, alice)
    items = by_sku(vk_goods)
    if policy == "hide":
        assert outcome.counts["hidden"] == 1 and items["p-gyokuro"][0]["hidden"] is True
        vk_goods.reset_stats()
        assert sync(rt, alice).counts["hidden"] == 0 and write_calls(vk_goods) == {}
    else:
        assert outcome.counts["deleted"] == 1 and items["p-gyokuro"][0]["deleted"] is True


def test_items_connhub_did_not_create_are_never_touched(rt, alice, vk_goods):
    snapshot = ready_for_goods(rt, alice, vk_goods, on_removed="delete")
    foreign = vk_goods.seed_items(GROUP, 3)
    sync(rt, alice)
    remove_product(rt, snapshot, "p-latte")
    sync(rt, alice)
    left = {item["id"]: item for item in community(vk_goods)}
    assert all(item_id in left and left[item_id]["edits"] == 0 for item_id in foreign)


def test_goods_switched_off_stops_the_run_with_the_reason(rt, alice, vk_goods):
    ready_for_goods(rt, alice, vk_goods)
    vk_goods.configure(group_id=GROUP, goods_enabled=False)
    outcome = sync(rt, alice)
    assert outcome.state == SyncRunState.STOPPED and "Товары" in outcome.stop_reason
    assert last_run(rt).stop_reason == outcome.stop_reason


def test_a_token_without_the_goods_right_stops_the_run(rt, alice, vk_goods):
    ready_for_goods(rt, alice, vk_goods, scopes=("groups", "photos"))
    outcome = sync(rt, alice)
    assert outcome.state == SyncRunState.STOPPED and "доступ" in outcome.stop_reason
    assert community(vk_goods) == []


def test_the_item_limit_stops_adding_after_what_fits(rt, alice, vk_goods):
    ready_for_goods(rt, alice, vk_goods)
    vk_goods.configure(group_id=GROUP, item_limit=2)
    outcome = sync(rt, alice)
    assert outcome.state == SyncRunState.STOPPED and "предел" in outcome.stop_reason
    assert len(community(vk_goods)) == 2
    vk_goods.configure(group_id=GROUP, item_limit=None)
    sync(rt, alice)
    items = by_sku(vk_goods)
    assert set(items) == SELECTED and all(len(found) == 1 for found in items.values())


def test_a_link_vk_refuses_is_removed_once_and_the_item_published(rt, alice, vk_goods):
    snapshot = ready_for_goods(rt, alice, vk_goods, description_template="{name}: {description}")
    change_product(rt, snapshot, "p-assam", description="Крепкий индийский чай, заказ на my_shop.ru")
    outcome = sync(rt, alice)
    assert outcome.counts["added"] == 4 and outcome.counts["failed"] == 0
    assam = by_sku(vk_goods)["p-assam"][0]
    assert "my_shop" not in assam["description"] and len(assam["description"]) >= 10


def test_one_product_vk_keeps_refusing_is_reported_and_the_others_published(rt, alice, vk_goods):
    ready_for_goods(rt, alice, vk_goods)
    vk_goods.configure(require_photo=True)  # every item needs a photo; Ассам has none
    images = {pid: image_bytes((300, 300), colour=(n * 40, 10, 10)) for n, pid in enumerate(sorted(SELECTED))
              if pid != "p-assam"}
    outcome = sync(rt, alice, images=from_bytes(images))
    assert outcome.state == SyncRunState.FINISHED and outcome.counts["failed"] == 1
    assert outcome.failures[0]["product_id"] == "p-assam" and outcome.failures[0]["name"] == "Ассам"
    assert set(by_sku(vk_goods)) == SELECTED - {"p-assam"}
    assert last_run(rt).failures == outcome.failures


def test_too_many_requests_are_waited_out_and_retried(rt, alice, vk_goods):
    ready_for_goods(rt, alice, vk_goods)
    vk_goods.configure(rate_limit=1)  # the sandbox answers error 6 past one request a second
    outcome = sync(rt, alice)
    assert outcome.state == SyncRunState.FINISHED and set(by_sku(vk_goods)) == SELECTED


def test_requests_stay_within_three_a_second(rt, alice, vk_goods):
    snapshot = ready_for_goods(rt, alice, vk_goods)
    add_products(rt, snapshot, 80)
    sync(rt, alice)
    stats = vk_goods.stats()
    assert stats["rejected_for_rate"] == 0 and stats["requests_total"] >= 5
    assert len(community(vk_goods)) == 84


def test_photos_are_padded_uploaded_once_and_reused_while_unchanged(rt, alice, vk_goods):
    ready_for_goods(rt, alice, vk_goods)
    images = {pid: image_bytes((300, 300), colour=(n * 40, 10, 10)) for n, pid in enumerate(sorted(SELECTED))}
    images["p-latte"] = images["p-sencha"]  # the same picture twice: one upload

    source = from_bytes(images)
    sync(rt, alice, images=source)
    assert vk_goods.stats()["calls"].get("market.saveProductPhotoBulk") == 1  # one batch of 3 photos
    items = by_sku(vk_goods)
    assert all(items[pid][0]["photos"] for pid in SELECTED)
    assert len({items[pid][0]["photos"][0]["id"] for pid in SELECTED}) == 3
    assert items["p-latte"][0]["photos"][0]["id"] == items["p-sencha"][0]["photos"][0]["id"]
    vk_goods.reset_stats()
    sync(rt, alice, images=source)
    assert write_calls(vk_goods) == {}
    images["p-assam"] = image_bytes((300, 300), colour=(1, 2, 3))
    vk_goods.reset_stats()
    outcome = sync(rt, alice, images=source)
    assert write_calls(vk_goods) == {"market.saveProductPhotoBulk": 1, "market.edit": 1}
    assert outcome.counts["changed"] == 1


def test_a_dry_run_plans_and_changes_nothing(rt, alice, vk_goods):
    ready_for_goods(rt, alice, vk_goods)
    outcome = sync(rt, alice, dry_run=True)
    assert {entry["product_id"] for entry in outcome.plan["add"]} == SELECTED
    assert community(vk_goods) == [] and write_calls(vk_goods) == {}
    assert last_run(rt).dry_run


def test_a_run_requested_on_the_page_is_run_by_the_sidecar(rt, alice, vk_goods):
    from connhub.sync import runs
    from connhub.sync.service import run_requested

    ready_for_goods(rt, alice, vk_goods)
    requested = runs.request_run(rt.sessions, alice.id, triggered_by="Alice")
    with pytest.raises(runs.RunInProgress):
        runs.request_run(rt.sessions, alice.id, triggered_by="Alice")
    [outcome] = run_requested(rt)
    assert outcome.state == SyncRunState.FINISHED and set(by_sku(vk_goods)) == SELECTED
    run = last_run(rt)
    assert run.id == requested.id and run.trigger == Trigger.PAGE and run.triggered_by == "Alice"
    assert run_requested(rt) == []


def test_a_run_whose_process_died_is_closed_and_the_next_one_starts(rt, alice, vk_goods):
    from datetime import timedelta

    from connhub.models import SyncRun, utcnow

    ready_for_goods(rt, alice, vk_goods)
    with rt.sessions() as session:
        session.add(SyncRun(user_id=alice.id, trigger="cron", state=SyncRunState.RUNNING,
                            started_at=utcnow() - timedelta(hours=1), heartbeat_at=utcnow() - timedelta(minutes=30)))
        session.commit()
    outcome = sync(rt, alice)
    assert outcome.state == SyncRunState.FINISHED
    from connhub.sync import runs

    with rt.sessions() as session:
        states = [run.state for run in runs.recent_runs(session, alice.id)]
    assert states == [SyncRunState.FINISHED, SyncRunState.FAILED]


def test_a_catalog_older_than_the_refresh_interval_is_refreshed_first(rt, alice, vk_goods, sandbox_control):
    from datetime import timedelta

    from sqlalchemy import update

    from connhub.crypto import Secret
    from connhub.models import Connection, utcnow
    from tests.support.sync import OTHER_STORE, connect_both, load_catalog, save_config, switch_on

    source_id, target_id = connect_both(rt, sandbox_control, alice)
    evotor_token = sandbox_control.cloud_token("01-000000000000001", "evotor")["token"]
    with rt.sessions() as session:
        for connection_id, token in ((source_id, evotor_token), (target_id, vk_goods.user_token())):
            session.execute(update(Connection).where(Connection.id == connection_id)
                            .values(access_token_sealed=rt.cipher.seal(Secret(token))))
        session.commit()
    load_catalog(rt, source_id, store_id=OTHER_STORE, completed_at=utcnow() - timedelta(hours=3))
    save_config(rt, alice, store_id=OTHER_STORE)
    switch_on(rt, alice)
    said: list[str] = []
    with catalog_sidecar(rt) as ran:
        outcome = sync(rt, alice, say=said.append)
    assert "Обновление каталога Эвотор" in said
    assert outcome.state == SyncRunState.FINISHED
    skus = set(by_sku(vk_goods))
    assert len(skus) > 5 and not skus & SELECTED  # the sandbox store's own products, not the stale copy's
    assert outcome.counts["added"] == len(skus)
    assert len(ran) == 1 and ran[0].state == "succeeded"  # the sidecar ran the job, not the sync
    said.clear()
    sync(rt, alice, say=said.append)  # fresh now: no second refresh
    assert "Обновление каталога Эвотор" not in said


def test_a_refresh_a_sidecar_holds_too_long_leaves_the_last_copy_in_use_after_the_wait(rt, alice, vk_goods):
    from datetime import timedelta

    from connhub.catalog import refresh
    from connhub.models import CatalogRefreshJob, utcnow

    snapshot = ready_for_goods(rt, alice, vk_goods)
    touch_back(rt, snapshot, utcnow() - timedelta(hours=3))
    said: list[str] = []

    def take_it_and_hang(step: str) -> None:  # a sidecar claims the run's job the moment it is asked for
        if step == "catalog_requested":
            assert refresh.claim_next(rt.sessions, "stuck-sidecar") is not None

    outcome = sync(rt, alice, say=said.append, refresh_wait=0.5, refresh_pickup=0.2, checkpoint=take_it_and_hang)
    assert outcome.state == SyncRunState.FINISHED and set(by_sku(vk_goods)) == SELECTED
    assert any("используется копия от прошлого обновления" in line for line in said)
    with rt.sessions() as session:
        jobs = session.query(CatalogRefreshJob).all()
    assert [(job.state, job.worker) for job in jobs] == [("running", "stuck-sidecar")]  # never taken from it


def test_a_refresh_no_sidecar_picks_up_is_run_by_the_sync_itself(rt, alice, vk_goods, sandbox_control):
    """Cron without a sidecar: the run's own refresh job is not left waiting for nobody."""
    from datetime import timedelta

    from connhub.models import CatalogRefreshJob, utcnow

    snapshot = ready_for_goods(rt, alice, vk_goods)
    touch_back(rt, snapshot, utcnow() - timedelta(hours=3))
    said: list[str] = []
    outcome = sync(rt, alice, say=said.append, refresh_pickup=0.2)
    assert outcome.state == SyncRunState.FINISHED
    with rt.sessions() as session:
        jobs = session.query(CatalogRefreshJob).all()
    assert len(jobs) == 1 and jobs[0].finished_at is not None and jobs[0].worker.startswith("sync-")


@pytest.mark.postgres
def test_on_postgresql_a_killed_run_leaves_no_duplicate_and_a_rerun_writes_nothing(make_rt, pg_url, vk_goods):
    from tests.support.connect import make_user

    pg = make_rt(DATABASE_URL=pg_url)
    user = make_user(pg, "alice")
    ready_for_goods(pg, user, vk_goods)

    def die(step):
        if step == "after_add":
            raise Killed

    with pytest.raises(Killed):
        sync(pg, user, checkpoint=die)
    assert sync(pg, user).state == SyncRunState.FINISHED
    items = by_sku(vk_goods)
    assert set(items) == SELECTED and all(len(found) == 1 for found in items.values())
    vk_goods.reset_stats()
    assert sync(pg, user).counts["unchanged"] == 4 and write_calls(vk_goods) == {}


def foreign_item_with_sku(vk_goods: GoodsControl, sandbox_url: str, sku: str) -> int:
    """An item someone else made in the community (another app, by hand) that carries `sku`."""
    from connhub.crypto import Secret
    from connhub.providers.vk.api import RateLimiter, VkApi
    from connhub.providers.vk.goods import Goods

    goods = Goods(VkApi(Secret(vk_goods.user_token()), api_url=f"{sandbox_url}/vk", timeout=10, limiter=RateLimiter()))
    return goods.add(GROUP, {"name": "Чужой товар", "description": "Добавлен другим приложением", "price": "999",
                             "category_id": 500, "sku": sku})


@pytest.mark.parametrize("moment", ["before_add", "after_add"])
def test_a_foreign_item_with_our_sku_is_never_adopted_after_a_lost_add(rt, alice, vk_goods, sandbox, moment):
    ready_for_goods(rt, alice, vk_goods)
    foreign = foreign_item_with_sku(vk_goods, sandbox.base_url, "p-assam")

    def die(step):
        if step == moment:
            raise Killed

    with pytest.raises(Killed):
        sync(rt, alice, checkpoint=die)
    outcome = sync(rt, alice)
    assert outcome.state == SyncRunState.FINISHED
    items = by_sku(vk_goods)
    assert set(items) == SELECTED
    assert all(len(found) == 1 for pid, found in items.items() if pid != "p-assam")
    theirs = [item for item in items["p-assam"] if item["id"] == foreign]
    ours = [item for item in items["p-assam"] if item["id"] != foreign]
    assert theirs[0]["title"] == "Чужой товар" and theirs[0]["edits"] == 0  # not adopted, not overwritten
    assert len(ours) == 1 and ours[0]["title"] == "Ассам"  # our product added once
    vk_goods.reset_stats()
    assert sync(rt, alice).counts["unchanged"] == 4 and write_calls(vk_goods) == {}
    assert [item for item in by_sku(vk_goods)["p-assam"] if item["id"] == foreign][0]["edits"] == 0


def test_error_1402_on_an_edit_is_that_products_failure_and_never_a_duplicate(rt, alice, vk_goods):
    """VK's 1402 is «Подборка не найдена» (an album): the item is still there, so it is never made again."""
    from connhub.providers.vk.api import VkApiError
    from connhub.providers.vk.goods_target import VkGoodsTarget, goods_error

    snapshot = ready_for_goods(rt, alice, vk_goods)
    sync(rt, alice)
    change_product(rt, snapshot, "p-latte", price=Decimal("275.50"))
    latte_id = by_sku(vk_goods)["p-latte"][0]["id"]

    class AlbumGone(VkGoodsTarget):
        def edit(self, community_id, edits):
            results = super().edit(community_id, [(i, d) for i, d in edits if i != latte_id])
            answer = iter(results)
            album = VkApiError.from_error({"error_code": 1402, "error_msg": "Album not found"}, "market.edit")
            return [goods_error(album) if i == latte_id else next(answer) for i, _ in edits]

    from connhub.providers.vk.client import VkProvider
    from connhub.sync.status import sync_status

    target_view = sync_status(rt, alice.id).target
    from connhub.sync.tokens import fresh_token

    provider = rt.providers.get("vk")
    assert isinstance(provider, VkProvider)
    outcome = sync(rt, alice, target=AlbumGone(provider.goods(fresh_token(rt, target_view))))
    assert outcome.state == SyncRunState.FINISHED
    assert outcome.counts["added"] == 0 and outcome.counts["failed"] == 1
    assert outcome.failures[0]["product_id"] == "p-latte" and "1402" in outcome.failures[0]["reason"]
    items = by_sku(vk_goods)
    assert len(items["p-latte"]) == 1 and items["p-latte"][0]["id"] == latte_id


def test_a_run_reads_the_catalogs_products_once_and_maps_each_product_once(rt, alice, vk_goods, monkeypatch):
    import re

    from sqlalchemy import event

    from connhub.catalog import queries
    from connhub.sync import forecast, mapping

    snapshot = ready_for_goods(rt, alice, vk_goods)
    add_products(rt, snapshot, 20)
    reads: list[str] = []
    event.listen(rt.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: reads.extend(re.findall(r"FROM catalog_products\b", statement)))
    mapped: list[str] = []

    def counting(facts, policy):
        mapped.append(facts.id)
        return mapping.map_product(facts, policy)

    monkeypatch.setattr(forecast, "map_product", counting)  # the run maps through the forecast
    monkeypatch.setattr(queries, "_cache", type(queries._cache)())  # nothing of this catalog in memory yet
    images = {pid: image_bytes((300, 300), colour=(n * 40, 10, 10)) for n, pid in enumerate(sorted(SELECTED))}
    outcome = sync(rt, alice, images=from_bytes(images))
    assert outcome.state == SyncRunState.FINISHED and outcome.counts["added"] == 24
    assert len(reads) == 1
    assert sorted(mapped) == sorted(set(mapped)) and len(mapped) == 25  # 24 published, 1 skipped
