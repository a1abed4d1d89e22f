"""«Заказы» (pages/orders.py) as a user reads it: the empty state says what is needed, orders show
their number, status in Russian, the buyer's comment, lines matched to Evotor products and the
total; a failed check is said; no raw markup, no «None»."""

from __future__ import annotations

import re
from datetime import timedelta

from connhub.models import ShopOrder, ShopOrderPoll, utcnow
from tests.pages.helpers import badges, page_text
from tests.support.sync import GROUP, connect_both, load_catalog, save_config

ORDERS = "pages/orders.py"
RAW = re.compile(r"\*|<[a-z]|&#|\\|None|\{|\}")


def readable(at) -> str:
    text = page_text(at)
    shown = re.sub(r":\w+-badge\[[^\]]*\]|:material/\w+:|:orange\[|\]|\*\*(?=\S)|(?<=\S)\*\*", "", text)
    assert not RAW.search(shown), shown
    return text


def seed(rt, user, *, problem: str = "") -> None:
    with rt.sessions() as session:
        session.add(ShopOrderPoll(user_id=user.id, group_id=GROUP, checked_at=utcnow(), problem=problem))
        session.add(ShopOrder(user_id=user.id, group_id=GROUP, order_id=5001, buyer_id=1, number="100200300-5001",
                              placed_at=utcnow() - timedelta(hours=1), status="new", comment="Позвоните <до> 18:00",
                              total_kopecks=265100, lines=[
                                  {"item_id": 1, "title": "Сенча", "sku": "p-sencha", "quantity": 2,
                                   "price_kopecks": 120050},
                                  {"item_id": 2, "title": "Чужой товар", "sku": "", "quantity": 1,
                                   "price_kopecks": None}]))
        session.add(ShopOrder(user_id=user.id, group_id=GROUP, order_id=5000, buyer_id=1, number="100200300-5000",
                              placed_at=utcnow() - timedelta(days=1), status="cancelled", comment="",
                              total_kopecks=None, lines=[]))
        session.commit()


def configured(rt, sandbox_control, user) -> None:
    source_id, _ = connect_both(rt, sandbox_control, user)
    load_catalog(rt, source_id)
    save_config(rt, user)


def test_without_a_community_the_page_says_to_choose_one(open_app, alice):
    at = open_app(alice, page=ORDERS)
    assert not at.exception
    text = readable(at)
    assert "Выберите сообщество ВКонтакте на странице «Синхронизация»" in text


def test_a_community_not_checked_yet_says_when_it_will_be(open_app, app_rt, alice, sandbox_control):
    configured(app_rt, sandbox_control, alice)
    at = open_app(alice, page=ORDERS)
    assert not at.exception
    assert "ещё не проверялись" in readable(at) and "раз в 5 минут" in page_text(at)


def test_orders_show_number_status_comment_products_and_total(open_app, app_rt, alice, sandbox_control):
    configured(app_rt, sandbox_control, alice)
    seed(app_rt, alice)
    at = open_app(alice, page=ORDERS)
    assert not at.exception
    text = readable(at)
    assert text.index("Заказ №100200300-5001") < text.index("Заказ №100200300-5000")  # newest first
    assert ("blue", "новый") in badges(at) and ("red", "отменён") in badges(at)
    assert "Комментарий покупателя: Позвоните <до> 18:00" in text
    assert "Сенча — 2 шт. × 1\u00a0200,50 ₽ · в Эвоторе: «Сенча»" in text
    assert "Чужой товар — 1 шт. · :orange[не найден в каталоге Эвотора]" in text
    assert "Сумма: **2\u00a0651,00 ₽**" in text
    assert "Состав заказа не прочитан." in text


def test_a_failed_check_is_said_above_the_orders(open_app, app_rt, alice, sandbox_control):
    configured(app_rt, sandbox_control, alice)
    seed(app_rt, alice, problem="В сообществе не включены расширенные товары")
    at = open_app(alice, page=ORDERS)
    assert not at.exception
    assert "Последняя проверка не удалась: В сообществе не включены расширенные товары" in readable(at)
