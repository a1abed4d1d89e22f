"""Evotor product images in the sync, end to end over localhost: the sandbox's Evotor lists and
serves the images, the sandbox's VK goods receives the padded photos."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from connhub.models import SyncImage, SyncRunState, utcnow
from connhub.providers.evotor.images import IMAGE_MAX_BYTES
from connhub.providers.evotor.sandbox import catalog_http as sandbox_catalog
from connhub.providers.vk.sandbox import GoodsControl
from connhub.sync.runs import Trigger
from connhub.sync.service import run_now
from tests.support.goods import by_sku, change_product
from tests.support.images import give_images, image_bytes, ready_with_evotor_images

SELECTED = {"p-sencha", "p-gyokuro", "p-assam", "p-latte"}
WITH_IMAGES = ("p-sencha", "p-assam")


def sync(rt, user, lines=None):
    _run, outcome = run_now(rt, user.id, trigger=Trigger.CLI, triggered_by="test",
                            say=(lines.append if lines is not None else (lambda line: None)))
    return outcome


def photo_calls(vk_goods: GoodsControl) -> dict[str, int]:
    calls = vk_goods.stats()["calls"]
    return {m: n for m, n in calls.items() if m in ("market.add", "market.edit", "market.saveProductPhoto",
                                                         "market.saveProductPhotoBulk")}


def image_counters(evotor_catalog) -> tuple[int, int]:
    answer = evotor_catalog()
    return answer["image_lists"], answer["image_downloads"]


def test_product_images_are_listed_downloaded_and_published_padded_to_400(rt, alice, vk_goods, evotor_catalog, sandbox):
    ready_with_evotor_images(rt, alice, vk_goods)
    give_images(evotor_catalog, *WITH_IMAGES)
    outcome = sync(rt, alice)
    assert outcome.state == SyncRunState.FINISHED and outcome.counts["added"] == 4
    items = by_sku(vk_goods)
    assert {pid for pid in SELECTED if items[pid][0]["photos"]} == set(WITH_IMAGES)
    photos = sandbox.state.extra("vk").photos
    for pid in WITH_IMAGES:
        photo = photos[items[pid][0]["photos"][0]["id"]]
        assert (photo.width, photo.height) == (400, 400)
    assert image_counters(evotor_catalog) == (4, 2)  # one list per product, one download per image


def test_a_second_run_with_nothing_changed_asks_evotor_for_no_image(rt, alice, vk_goods, evotor_catalog):
    ready_with_evotor_images(rt, alice, vk_goods)
    give_images(evotor_catalog, *WITH_IMAGES)
    sync(rt, alice)
    lists, downloads = image_counters(evotor_catalog)
    vk_goods.reset_stats()
    outcome = sync(rt, alice)
    assert outcome.counts["unchanged"] == 4
    assert image_counters(evotor_catalog) == (lists, downloads)
    assert photo_calls(vk_goods) == {}


def test_an_image_looked_at_a_day_ago_is_listed_again_but_not_downloaded(rt, alice, vk_goods, evotor_catalog):
    ready_with_evotor_images(rt, alice, vk_goods)
    give_images(evotor_catalog, *WITH_IMAGES)
    sync(rt, alice)
    lists, downloads = image_counters(evotor_catalog)
    with rt.sessions() as session:
        session.execute(update(SyncImage).values(checked_at=utcnow() - timedelta(days=1, minutes=1)))
        session.commit()
    vk_goods.reset_stats()
    sync(rt, alice)
    assert image_counters(evotor_catalog) == (lists + 4, downloads)
    assert photo_calls(vk_goods) == {}


def test_a_changed_image_is_uploaded_again_and_the_item_edited(rt, alice, vk_goods, evotor_catalog):
    snapshot = ready_with_evotor_images(rt, alice, vk_goods)
    give_images(evotor_catalog, *WITH_IMAGES)
    sync(rt, alice)
    before = by_sku(vk_goods)["p-sencha"][0]["photos"][0]["id"]
    give_images(evotor_catalog, "p-sencha", data=image_bytes((300, 300), colour=(5, 200, 5)))
    change_product(rt, snapshot, "p-sencha", updated_at=utcnow())  # the catalog refresh saw the product change
    lists, downloads = image_counters(evotor_catalog)
    vk_goods.reset_stats()
    outcome = sync(rt, alice)
    assert outcome.counts["changed"] == 1
    assert photo_calls(vk_goods) == {"market.saveProductPhotoBulk": 1, "market.edit": 1}
    assert image_counters(evotor_catalog) == (lists + 1, downloads + 1)
    assert by_sku(vk_goods)["p-sencha"][0]["photos"][0]["id"] != before


def test_a_removed_image_edits_the_item_and_its_photo_stays_on_vk(rt, alice, vk_goods, evotor_catalog):
    snapshot = ready_with_evotor_images(rt, alice, vk_goods)
    give_images(evotor_catalog, *WITH_IMAGES)
    sync(rt, alice)
    photo = by_sku(vk_goods)["p-sencha"][0]["photos"][0]["id"]
    evotor_catalog(images=[{"product_id": "p-sencha", "action": "remove"}])
    change_product(rt, snapshot, "p-sencha", updated_at=utcnow())
    vk_goods.reset_stats()
    outcome = sync(rt, alice)
    assert outcome.counts["changed"] == 1 and outcome.counts["failed"] == 0
    assert photo_calls(vk_goods) == {"market.edit": 1}
    # market.edit without main_photo_id leaves VK's photo as it is: VK needs one, Evotor no longer has one.
    assert by_sku(vk_goods)["p-sencha"][0]["photos"][0]["id"] == photo


def test_a_missing_image_right_publishes_the_products_without_photos_and_says_so_once(
        rt, alice, vk_goods, evotor_catalog):
    ready_with_evotor_images(rt, alice, vk_goods)
    give_images(evotor_catalog, *WITH_IMAGES)
    evotor_catalog(forbid=["images"])
    lines: list[str] = []
    outcome = sync(rt, alice, lines)
    assert outcome.state == SyncRunState.FINISHED and outcome.counts["added"] == 4 and outcome.counts["failed"] == 0
    assert not any(item[0]["photos"] for item in by_sku(vk_goods).values())
    said = [line for line in lines if "product.image:read" in line]
    assert len(said) == 1 and "Фото товаров недоступны" in said[0]
    assert image_counters(evotor_catalog)[0] == 1  # no more look-ups once the right is known to be missing


def test_a_garbage_image_costs_only_that_products_photo(rt, alice, vk_goods, evotor_catalog):
    ready_with_evotor_images(rt, alice, vk_goods)
    give_images(evotor_catalog, "p-assam")
    give_images(evotor_catalog, "p-sencha", data=b"not a picture at all" * 10)
    lines: list[str] = []
    outcome = sync(rt, alice, lines)
    assert outcome.state == SyncRunState.FINISHED and outcome.counts["added"] == 4
    items = by_sku(vk_goods)
    assert not items["p-sencha"][0]["photos"] and items["p-assam"][0]["photos"]
    assert any("Сенча" in line and "не загружено" in line for line in lines)


def test_an_oversized_image_is_not_downloaded_past_the_cap_and_costs_only_its_photo(
        rt, alice, vk_goods, evotor_catalog):
    ready_with_evotor_images(rt, alice, vk_goods)
    give_images(evotor_catalog, "p-assam")
    evotor_catalog(images=[{"product_id": "p-sencha", "action": "set", "pad_to": IMAGE_MAX_BYTES + 1}])
    lines: list[str] = []
    outcome = sync(rt, alice, lines)
    assert outcome.state == SyncRunState.FINISHED and outcome.counts["added"] == 4
    items = by_sku(vk_goods)
    assert not items["p-sencha"][0]["photos"] and items["p-assam"][0]["photos"]
    assert any("p-sencha" in line and "слишком большой" in line for line in lines)


def test_the_sandbox_catalog_synced_for_real_publishes_its_seeded_images(rt, alice, sandbox, sandbox_control):
    """What `make run` does: the Evotor catalog refreshed from the sandbox, then one sync run."""
    from connhub.sync import config, selection, target
    from connhub.sync.config import Choices
    from connhub.sync.policies import DEFAULT_TEMPLATE
    from connhub.sync.status import switch_on, sync_status
    from tests.support.connect import connect
    from tests.support.goods import ACCOUNT, GOODS_ON, SMALL_STORE, connect_vk, refresh_catalog

    goods = GoodsControl(sandbox.base_url)
    evotor_id = connect(rt, alice, "evotor", account=ACCOUNT)
    refresh_catalog(rt, evotor_id)
    connect_vk(rt, alice, goods)
    options = target.target_options(rt, alice.id)
    with rt.sessions.begin() as session:
        config.save_settings(session, alice.id, {
            "store_id": SMALL_STORE, "vk_group_id": GOODS_ON, "vk_category_id": 501, "on_removed": "hide",
            "on_not_for_sale": "hide", "on_zero_price": "skip", "price_multiplier": "1",
            "description_template": DEFAULT_TEMPLATE,
        }, Choices(stores=selection.stores(session, alice.id, evotor_id), communities=options.communities,
                   categories=options.categories))
    switch_on(rt, alice.id, confirmed_by=alice.label, shown=sync_status(rt, alice.id).snapshot)
    outcome = sync(rt, alice)
    assert outcome.state == SyncRunState.FINISHED and outcome.counts["added"] > 0
    with_images = set(sandbox_catalog.configure(sandbox_control, account_id=ACCOUNT, store_id=SMALL_STORE,
                                                list_ids=True)["with_images"])
    items = goods.items(GOODS_ON)
    pictured = {item["sku"] for item in items if item["photos"]}
    assert pictured and pictured == {item["sku"] for item in items} & with_images


def test_images_wait_on_disk_not_in_memory_and_nothing_is_left_behind(rt, alice, vk_goods, evotor_catalog, tmp_path,
                                                                       monkeypatch):
    import gc
    import tempfile

    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool_dir))
    ready_with_evotor_images(rt, alice, vk_goods)
    give_images(evotor_catalog, *WITH_IMAGES)
    outcome = sync(rt, alice)
    assert outcome.counts["added"] == 4
    assert image_counters(evotor_catalog) == (4, 2)  # spooled, so each file was downloaded once
    gc.collect()
    assert list(spool_dir.iterdir()) == []


def test_past_the_spool_budget_an_image_is_downloaded_again_when_used(rt, alice, vk_goods, evotor_catalog, monkeypatch):
    from connhub.sync import images

    monkeypatch.setattr(images, "SPOOL_MAX_BYTES", 0)
    ready_with_evotor_images(rt, alice, vk_goods)
    give_images(evotor_catalog, *WITH_IMAGES)
    outcome = sync(rt, alice)
    assert outcome.counts["added"] == 4 and outcome.counts["failed"] == 0
    items = by_sku(vk_goods)
    assert {pid for pid in SELECTED if items[pid][0]["photos"]} == set(WITH_IMAGES)
    assert image_counters(evotor_catalog) == (4, 4)  # nothing kept: listed once, downloaded when seen and when used
