"""Buyers' orders (connhub.orders) against the sandbox's VK goods, on SQLite and PostgreSQL: a new
order is stored with its lines matched back to Evotor products, told once (journal event and a
notice on a channel that picked the topic), its status follows VK's; the first poll does not tell
the community's old orders; the basic market (1409) says what is needed; paging past 50."""

from __future__ import annotations

from sqlalchemy import func, select

from connhub.journal.events import EventKind
from connhub.models import JournalEvent, NotifyOutbox, ShopOrder, SyncRunState
from connhub.notify import service as notify_service
from connhub.notify.topics import Topic
from connhub.orders import poller
from connhub.orders.service import check_now, orders_for
from connhub.sync.runs import Trigger
from connhub.sync.service import run_now
from tests.support.connect import make_user
from tests.support.goods import by_sku, ready_for_goods
from tests.support.sync import GROUP


def published(db_rt, user, vk_goods) -> dict[str, int]:
    _run, outcome = run_now(db_rt, user.id, trigger=Trigger.CLI, triggered_by="test")
    assert outcome.state == SyncRunState.FINISHED
    return {sku: items[0]["id"] for sku, items in by_sku(vk_goods).items()}


def order_events(db_rt) -> list[JournalEvent]:
    with db_rt.sessions() as session:
        return list(session.scalars(select(JournalEvent).where(JournalEvent.kind == EventKind.ORDER_NEW)))


def stored(db_rt) -> int:
    with db_rt.sessions() as session:
        return session.scalar(select(func.count()).select_from(ShopOrder)) or 0


def test_a_new_order_is_stored_told_once_and_shown_with_evotor_products(db_rt, vk_goods):
    user = make_user(db_rt, "alice")
    ready_for_goods(db_rt, user, vk_goods)
    items = published(db_rt, user, vk_goods)
    notify_service.add(db_rt, user.id, kind="apprise", target="json://127.0.0.1:9/h", topics=[Topic.SHOP_ORDERS])
    assert check_now(db_rt, user.id).new == 0  # the first look: nothing there yet

    vk_goods.place_order(GROUP, [(items["p-sencha"], 2), (items["p-latte"], 1)], comment="Позвоните до 18:00")
    result = check_now(db_rt, user.id)
    assert (result.new, result.told, result.problem) == (1, 1, "")

    [event] = order_events(db_rt)
    assert event.details["items"] == 3
    with db_rt.sessions() as session:
        [notice] = session.scalars(select(NotifyOutbox)).all()
    assert notice.title.startswith("connhub: новый заказ №")
    assert "Позвоните до 18:00" in notice.body and "₽" in notice.body

    page = orders_for(db_rt, user.id)
    [order] = page.orders
    assert order.status == "новый" and order.comment == "Позвоните до 18:00"
    assert sorted((line.product, line.quantity) for line in order.lines) == [("Латте", 1), ("Сенча", 2)]
    assert order.matched == 2
    assert order.total == "2\u00a0651,00 ₽"  # 2 × 1 200,50 + 250

    again = check_now(db_rt, user.id)
    assert (again.new, again.told) == (0, 0)
    assert len(order_events(db_rt)) == 1 and stored(db_rt) == 1


def test_a_status_changed_in_vk_is_shown_in_russian(db_rt, vk_goods):
    user = make_user(db_rt, "alice")
    ready_for_goods(db_rt, user, vk_goods)
    items = published(db_rt, user, vk_goods)
    check_now(db_rt, user.id)
    order_id = vk_goods.place_order(GROUP, [(items["p-sencha"], 1)])
    check_now(db_rt, user.id)
    vk_goods.set_order_status(GROUP, order_id, 4)
    assert check_now(db_rt, user.id).updated == 1
    assert [o.status for o in orders_for(db_rt, user.id).orders] == ["выполнен"]


def test_the_first_poll_keeps_old_orders_without_telling_them(db_rt, vk_goods):
    user = make_user(db_rt, "alice")
    ready_for_goods(db_rt, user, vk_goods)
    items = published(db_rt, user, vk_goods)
    for _ in range(3):
        vk_goods.place_order(GROUP, [(items["p-latte"], 1)])
    result = check_now(db_rt, user.id)
    assert (result.new, result.told) == (3, 0)
    assert order_events(db_rt) == [] and len(orders_for(db_rt, user.id).orders) == 3


def test_more_than_a_page_of_new_orders_is_read_in_pages_of_50(db_rt, vk_goods):
    user = make_user(db_rt, "alice")
    ready_for_goods(db_rt, user, vk_goods)
    items = published(db_rt, user, vk_goods)
    check_now(db_rt, user.id)
    for _ in range(poller.PAGE + 7):
        vk_goods.place_order(GROUP, [(items["p-sencha"], 1)])
    vk_goods.reset_stats()
    result = check_now(db_rt, user.id)
    assert (result.new, result.told) == (poller.PAGE + 7, poller.PAGE + 7)
    calls = vk_goods.stats()["calls"]
    assert calls["market.getGroupOrders"] == 2 and calls["market.getOrderItems"] == poller.PAGE + 7
    vk_goods.reset_stats()
    assert check_now(db_rt, user.id).new == 0
    assert vk_goods.stats()["calls"] == {"market.getGroupOrders": 1}  # a page with nothing new ends it


def test_the_basic_market_answers_1409_and_the_page_says_what_is_needed(db_rt, vk_goods):
    user = make_user(db_rt, "alice")
    ready_for_goods(db_rt, user, vk_goods)
    vk_goods.set_market(GROUP, "basic")
    result = check_now(db_rt, user.id)
    assert "расширенные товары" in result.problem
    page = orders_for(db_rt, user.id)
    assert page.orders == () and "расширенные товары" in page.empty_reason and "None" not in page.empty_reason

    vk_goods.set_market(GROUP, "advanced")
    assert check_now(db_rt, user.id).problem == ""
    assert "пока нет заказов" in orders_for(db_rt, user.id).empty_reason


def test_without_a_community_the_page_says_to_choose_one(db_rt):
    user = make_user(db_rt, "bob")
    page = orders_for(db_rt, user.id)
    assert page.orders == () and "Выберите сообщество" in page.empty_reason
    assert check_now(db_rt, user.id).problem == "не выбрано сообщество"


def test_the_worker_polls_only_when_due(db_rt, vk_goods):
    user = make_user(db_rt, "alice")
    ready_for_goods(db_rt, user, vk_goods)
    with db_rt.sessions() as session:
        assert poller.due_users(session) == [user.id]
    assert [r.user_id for r in poller.poll_due(db_rt)] == [user.id]
    with db_rt.sessions() as session:
        assert poller.due_users(session) == []
    assert poller.poll_user(db_rt, user.id) == poller.PollResult(user.id)  # polled just now: nothing done
