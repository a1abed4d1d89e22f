"""Items edited or deleted by hand in VK (connhub.sync.hand_edits) against the sandbox, on SQLite and
PostgreSQL: reported, and under «не трогать» never written."""

from __future__ import annotations

from decimal import Decimal

from connhub.models import SyncRunState
from connhub.sync.hand_edits import HandEdits
from connhub.sync.runs import Trigger
from connhub.sync.service import run_now
from connhub.sync.shop_options import ShopOptions, hand_note, save_options
from tests.support.connect import make_user
from tests.support.goods import by_sku, change_product, ready_for_goods

GROUP = 218252175
WRITES = ("market.add", "market.edit", "market.delete", "market.restore", "market.saveProductPhoto")


def sync(rt, user):
    _run, outcome = run_now(rt, user.id, trigger=Trigger.CLI, triggered_by="test")
    assert outcome.state == SyncRunState.FINISHED, outcome.reason
    return outcome


def writes(vk_goods) -> dict[str, int]:
    return {m: n for m, n in vk_goods.stats()["calls"].items() if m in WRITES}


def shop(rt, vk_goods, policy: HandEdits):
    user = make_user(rt, "alice")
    snapshot = ready_for_goods(rt, user, vk_goods)
    assert save_options(rt.sessions, user.id, ShopOptions(hand_edits=policy))
    sync(rt, user)
    return user, snapshot


def test_an_item_edited_by_hand_is_reported_and_under_leave_alone_not_written(db_rt, vk_goods):
    user, snapshot = shop(db_rt, vk_goods, HandEdits.LEAVE)
    latte = by_sku(vk_goods)["p-latte"][0]
    vk_goods.edit_by_hand(GROUP, latte["id"], title="Латте большой", price="300")
    change_product(db_rt, snapshot, "p-latte", price=Decimal("260"))  # the catalog changed too
    vk_goods.reset_stats()
    outcome = sync(db_rt, user)
    assert writes(vk_goods) == {}
    assert by_sku(vk_goods)["p-latte"][0]["title"] == "Латте большой"
    assert outcome.plan["hand_edited"] == [{"product_id": "p-latte", "name": "Латте", "what": "название, цена"}]
    assert hand_note(db_rt.sessions, user.id) == ["«Латте» изменён во ВКонтакте вручную: название, цена"]


def test_under_overwrite_an_item_edited_by_hand_is_written_back_once(db_rt, vk_goods):
    user, _ = shop(db_rt, vk_goods, HandEdits.OVERWRITE)
    latte = by_sku(vk_goods)["p-latte"][0]
    vk_goods.edit_by_hand(GROUP, latte["id"], description="Мой текст")
    vk_goods.reset_stats()
    outcome = sync(db_rt, user)
    assert writes(vk_goods) == {"market.edit": 1}
    assert by_sku(vk_goods)["p-latte"][0]["description"] == "Латте (цена за шт)"
    assert outcome.plan["hand_edited"][0]["what"] == "описание"
    vk_goods.reset_stats()
    sync(db_rt, user)
    assert writes(vk_goods) == {}


def test_an_item_deleted_by_hand_is_made_again_only_under_overwrite(db_rt, vk_goods):
    user, _ = shop(db_rt, vk_goods, HandEdits.LEAVE)
    vk_goods.delete_by_hand(GROUP, by_sku(vk_goods)["p-latte"][0]["id"])
    vk_goods.reset_stats()
    outcome = sync(db_rt, user)
    assert writes(vk_goods) == {} and "p-latte" not in by_sku(vk_goods)
    assert outcome.plan["hand_deleted"] == [{"product_id": "p-latte", "name": "Латте"}]
    save_options(db_rt.sessions, user.id, ShopOptions(hand_edits=HandEdits.OVERWRITE))
    sync(db_rt, user)
    assert len(by_sku(vk_goods)["p-latte"]) == 1


def test_nothing_is_reported_when_nobody_edited_by_hand(db_rt, vk_goods):
    user, _ = shop(db_rt, vk_goods, HandEdits.LEAVE)
    vk_goods.reset_stats()
    outcome = sync(db_rt, user)
    assert writes(vk_goods) == {} and "hand_edited" not in outcome.plan
    assert hand_note(db_rt.sessions, user.id) == []
