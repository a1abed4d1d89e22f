"""«Заказы»: buyers' orders in the chosen VK community, newest first, each line matched back to the
Evotor product the sync published it from (connhub.orders.service)."""

from __future__ import annotations

import streamlit as st

from connhub.orders import service
from connhub.orders.service import LineView, OrderView
from pages.ui.session import require_user, runtime
from pages.ui.text import Markup, format_time

STATUS_COLORS = {"новый": "blue", "выполнен": "green", "отменён": "red", "возвращён": "orange"}


def line_text(line: LineView) -> Markup:
    price = Markup(" × {}").format(line.price) if line.price else Markup("")
    if line.product:
        return Markup("{} — {} шт.{} · в Эвоторе: «{}»").format(line.title, line.quantity, price, line.product)
    return Markup("{} — {} шт.{} · :orange[не найден в каталоге Эвотора]").format(line.title, line.quantity, price)


def show_order(order: OrderView) -> None:
    with st.container(border=True):
        color = STATUS_COLORS.get(order.status, "gray")
        st.markdown(Markup("**Заказ №{}** · {} · :{}-badge[{}]").format(order.number, format_time(order.placed_at),
                                                                        Markup(color), order.status))
        if order.total:
            st.markdown(Markup("Сумма: **{}**").format(order.total))
        if order.comment:
            st.caption(Markup("Комментарий покупателя: {}").format(order.comment))
        if order.lines:
            st.markdown(Markup("\n").join(Markup("- {}").format(line_text(line)) for line in order.lines))
        else:
            st.caption("Состав заказа не прочитан.")


user = require_user()
rt = runtime()
st.title("Заказы", anchor=False)
st.caption("Заказы покупателей в магазине сообщества ВКонтакте: connhub проверяет их каждые 5 минут и "
           "сообщает о новых в журнале и в уведомлениях (тема «Новые заказы во ВКонтакте»). Только чтение.")

page = service.orders_for(rt, user.id)
if page.community:
    row = st.container(horizontal=True, vertical_alignment="center")
    row.markdown(Markup("Сообщество: **{}** · проверено: {}").format(page.community, format_time(page.checked_at)))
    if row.button("Проверить заказы сейчас", icon=":material/refresh:", key="orders-check-now"):
        result = service.check_now(rt, user.id)
        if not result.problem:
            st.toast(Markup("Новых заказов: {}").format(result.new))
        page = service.orders_for(rt, user.id)
if page.problem and page.orders:
    st.warning(Markup("Последняя проверка не удалась: {}. {}.").format(page.problem, service.NEEDS))
if not page.orders:
    st.info(Markup("{}").format(page.empty_reason), icon=":material/receipt_long:")
for order in page.orders:
    show_order(order)
