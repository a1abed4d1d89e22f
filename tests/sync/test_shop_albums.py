"""«Подборки во ВКонтакте»: albums from the catalog's groups against the sandbox's VK goods, on SQLite
and PostgreSQL. The catalog (tests/support/sync.py): «Чай» (Ассам) with the subgroup «Зелёный»
(Сенча, Гёкуро), and «Кофе» (Латте; Эспрессо is skipped for its zero price)."""

from __future__ import annotations

from sqlalchemy import update

from connhub.models import CatalogGroup, SyncAlbum, SyncConfig, SyncRunState
from connhub.sync.albums import AlbumMode
from connhub.sync.runs import Trigger
from connhub.sync.service import run_now
from connhub.sync.shop_options import ShopOptions, save_options
from tests.support.connect import make_user
from tests.support.goods import by_sku, ready_for_goods, remove_product, touch

ALBUM_WRITES = ("market.addAlbum", "market.editAlbum", "market.deleteAlbum", "market.addToAlbum",
                "market.removeFromAlbum")
WRITES = ("market.add", "market.edit", "market.delete", "market.restore", "market.saveProductPhoto", *ALBUM_WRITES)
GROUP = 218252175


def sync(rt, user):
    _run, outcome = run_now(rt, user.id, trigger=Trigger.CLI, triggered_by="test")
    assert outcome.state == SyncRunState.FINISHED, outcome.reason
    return outcome


def writes(vk_goods) -> dict[str, int]:
    return {m: n for m, n in vk_goods.stats()["calls"].items() if m in WRITES}


def albums(vk_goods) -> dict[str, set[str]]:
    """Album title → the skus of its items."""
    sku_of = {item["id"]: sku for sku, items in by_sku(vk_goods).items() for item in items}
    return {a["title"]: {sku_of.get(i, str(i)) for i in a["items"]} for a in vk_goods.albums(GROUP)}


def shop(rt, vk_goods, mode: AlbumMode, name: str = "alice"):
    user = make_user(rt, name)
    snapshot = ready_for_goods(rt, user, vk_goods)
    assert save_options(rt.sessions, user.id, ShopOptions(album_mode=mode))
    return user, snapshot


def test_one_album_per_top_level_group_with_its_subgroups_and_a_rerun_writes_nothing(db_rt, vk_goods):
    user, _ = shop(db_rt, vk_goods, AlbumMode.TOP)
    sync(db_rt, user)
    assert albums(vk_goods) == {"Чай": {"p-sencha", "p-gyokuro", "p-assam"}, "Кофе": {"p-latte"}}
    vk_goods.reset_stats()
    sync(db_rt, user)
    assert writes(vk_goods) == {}


def test_one_album_per_leaf_group(db_rt, vk_goods):
    user, _ = shop(db_rt, vk_goods, AlbumMode.LEAF)
    sync(db_rt, user)
    assert albums(vk_goods) == {"Зелёный": {"p-sencha", "p-gyokuro"}, "Чай": {"p-assam"}, "Кофе": {"p-latte"}}


def test_albums_are_batched_one_add_to_album_call_per_album(db_rt, vk_goods):
    user, _ = shop(db_rt, vk_goods, AlbumMode.TOP)
    vk_goods.reset_stats()
    sync(db_rt, user)
    calls = writes(vk_goods)
    assert (calls["market.addAlbum"], calls["market.addToAlbum"]) == (2, 2)


def test_a_renamed_group_renames_its_album_and_makes_no_second_one(db_rt, vk_goods):
    user, snapshot = shop(db_rt, vk_goods, AlbumMode.TOP)
    sync(db_rt, user)
    with db_rt.sessions() as session:
        session.execute(update(CatalogGroup).where(CatalogGroup.snapshot_id == snapshot, CatalogGroup.id == "g-tea")
                        .values(name="Чай листовой"))
        session.commit()
    touch(db_rt, snapshot)
    vk_goods.reset_stats()
    sync(db_rt, user)
    assert albums(vk_goods) == {"Чай листовой": {"p-sencha", "p-gyokuro", "p-assam"}, "Кофе": {"p-latte"}}
    assert writes(vk_goods) == {"market.editAlbum": 1}


def test_a_group_that_leaves_deletes_the_album_connhub_made(db_rt, vk_goods):
    user, snapshot = shop(db_rt, vk_goods, AlbumMode.TOP)
    sync(db_rt, user)
    remove_product(db_rt, snapshot, "p-latte")
    sync(db_rt, user)
    assert set(albums(vk_goods)) == {"Чай"}


def test_the_owners_album_of_the_same_title_is_used_and_never_deleted(db_rt, vk_goods):
    own = vk_goods.add_album_by_hand(GROUP, "Кофе")
    vk_goods.add_album_by_hand(GROUP, "Акции")
    user, snapshot = shop(db_rt, vk_goods, AlbumMode.TOP)
    sync(db_rt, user)
    found = albums(vk_goods)
    assert found["Кофе"] == {"p-latte"} and [a["id"] for a in vk_goods.albums(GROUP) if a["title"] == "Кофе"] == [own]
    remove_product(db_rt, snapshot, "p-latte")
    sync(db_rt, user)
    assert set(albums(vk_goods)) == {"Кофе", "Акции", "Чай"}


def test_an_album_made_by_a_run_that_died_before_recording_it_is_adopted_not_made_twice(db_rt, vk_goods):
    """The run wrote its pending row and VK made the album, but the answer was lost."""
    user, _ = shop(db_rt, vk_goods, AlbumMode.TOP)
    made = vk_goods.add_album_by_hand(GROUP, "Чай")  # what the lost market.addAlbum made
    with db_rt.sessions() as session:
        session.add(SyncAlbum(user_id=user.id, store_id=by_store(db_rt, user), group_id=GROUP,
                              source_group_id="g-tea", album_id=None, title="Чай", created=False, items=[]))
        session.commit()
    sync(db_rt, user)
    tea = [a for a in vk_goods.albums(GROUP) if a["title"] == "Чай"]
    assert [a["id"] for a in tea] == [made] and len(tea[0]["items"]) == 3
    with db_rt.sessions() as session:
        row = session.query(SyncAlbum).filter_by(source_group_id="g-tea").one()
        assert row.created and row.album_id == made  # connhub's: deleted when its group leaves


def by_store(rt, user) -> str:
    with rt.sessions() as session:
        return session.query(SyncConfig).filter_by(user_id=user.id).one().evotor_store_id


def test_too_many_albums_stops_the_album_part_with_the_reason_and_publishes_the_items(db_rt, vk_goods):
    vk_goods.album_limits(album_limit=1)
    user, _ = shop(db_rt, vk_goods, AlbumMode.TOP)
    outcome = sync(db_rt, user)
    assert set(by_sku(vk_goods)) == {"p-sencha", "p-gyokuro", "p-assam", "p-latte"}
    assert "1407" in outcome.plan["albums"]["stopped"]
    assert len(vk_goods.albums(GROUP)) == 1


def test_too_many_items_in_an_album_stops_the_album_part_and_publishes_the_items(db_rt, vk_goods):
    vk_goods.album_limits(album_item_limit=2)
    user, _ = shop(db_rt, vk_goods, AlbumMode.TOP)
    outcome = sync(db_rt, user)
    assert len(by_sku(vk_goods)) == 4
    assert "1406" in outcome.plan["albums"]["stopped"]


def test_albums_off_makes_no_album_call(db_rt, vk_goods):
    user, _ = shop(db_rt, vk_goods, AlbumMode.OFF)
    vk_goods.reset_stats()
    sync(db_rt, user)
    assert not set(vk_goods.stats()["calls"]) & {*ALBUM_WRITES, "market.getAlbums"}
