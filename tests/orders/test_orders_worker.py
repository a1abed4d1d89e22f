"""The orders worker as the sidecar runs it: `checker.py --once` polls a due community and tells a
new order (the worker is registered in checker.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from connhub.journal.events import EventKind
from connhub.models import JournalEvent, ShopOrderPoll, utcnow
from connhub.orders.service import check_now
from connhub.sync.runs import Trigger
from connhub.sync.service import run_now
from tests.support.checker import run_checker
from tests.support.connect import make_user
from tests.support.goods import by_sku, ready_for_goods
from tests.support.sync import GROUP


def test_checker_once_polls_a_due_community_and_tells_the_new_order(rt, vk_goods):
    user = make_user(rt, "alice")
    ready_for_goods(rt, user, vk_goods)
    run_now(rt, user.id, trigger=Trigger.CLI, triggered_by="test")
    check_now(rt, user.id)  # the first look
    latte = by_sku(vk_goods)["p-latte"][0]["id"]
    vk_goods.place_order(GROUP, [(latte, 1)], comment="К восьми")
    with rt.sessions() as session:  # due: the last poll is older than the interval
        session.execute(update(ShopOrderPoll).values(checked_at=utcnow() - timedelta(hours=1)))
        session.commit()

    done = run_checker(rt, "--once")

    assert done.returncode == 0, done.stderr
    with rt.sessions() as session:
        [event] = session.scalars(select(JournalEvent).where(JournalEvent.kind == EventKind.ORDER_NEW)).all()
        assert event.details["comment"] == "К восьми" and event.details["items"] == 1
        assert session.get(ShopOrderPoll, user.id).checked_at > utcnow() - timedelta(minutes=5)  # type: ignore[union-attr]
