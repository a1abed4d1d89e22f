"""«Уведомления»: the user's channels (e-mail, Telegram, any Apprise URL), what each receives, a test.

Nothing here calls the network: «Отправить проверочное сообщение» writes a notice to the outbox
and the sidecar (`checker.py`) sends it. A channel the sidecar switched off shows why.
"""

from __future__ import annotations

import streamlit as st

from connhub.notify import service
from connhub.notify.service import ChannelView, InvalidChannel
from pages.ui.notices import queue_toast, show_queued_toast
from pages.ui.session import require_user, runtime
from pages.ui.text import Markup, format_time, md

user = require_user()
rt = runtime()
TOPICS = dict(service.topic_choices())

st.title("Уведомления", anchor=False)
st.caption("connhub сообщает, когда подключение перестало работать и когда снова заработало, когда синхронизация "
           "остановилась или не удалась, и когда каталог не обновляется. Одно сообщение на изменение; если "
           "подключение «мигает», приходит одно сообщение «нестабильно» вместо десятков.")
show_queued_toast()


def _topics_input(key: str, current: tuple[str, ...] | None = None) -> list[str]:
    return st.multiselect("Что присылать", list(TOPICS), default=list(current if current is not None else TOPICS),
                          format_func=TOPICS.__getitem__, key=key)


def channel_card(channel: ChannelView) -> None:
    with st.container(border=True):
        title = f"**{md(service.KIND_TITLES.get(channel.kind, channel.kind))}** · {md(channel.label)}"
        st.markdown(title)
        if not channel.enabled:
            reason = channel.disabled_reason or "выключен вручную"
            st.error(Markup("Канал выключен: {}").format(reason), icon=":material/notifications_off:")
        sent = f"последнее сообщение: {format_time(channel.last_sent_at)}" if channel.last_sent_at else \
            "сообщений ещё не было"
        waiting = f", ждут отправки: {channel.pending}" if channel.pending else ""
        st.caption(sent + waiting)
        with st.form(f"channel-{channel.id}"):
            topics = _topics_input(f"channel-{channel.id}-topics", channel.topics)
            remind = st.checkbox("Напоминать раз в час, пока подключение не работает", value=channel.remind_hourly,
                                 key=f"channel-{channel.id}-remind")
            enabled = st.toggle("Включён", value=channel.enabled, key=f"channel-{channel.id}-enabled")
            if st.form_submit_button("Сохранить"):
                service.update(rt, user.id, channel.id, topics=topics, remind_hourly=remind, enabled=enabled)
                queue_toast("Сохранено", ":material/check:")
                st.rerun()
        left, right = st.columns(2)
        if left.button("Отправить проверочное сообщение", key=f"channel-{channel.id}-test",
                       disabled=not channel.enabled, icon=":material/send:"):
            queued = service.test(rt, user.id, channel.id)
            queue_toast("Сообщение поставлено в очередь: его отправит фоновый процесс в течение нескольких секунд"
                        if queued else "Канал выключен", ":material/send:")
            st.rerun()
        if right.button("Удалить канал", key=f"channel-{channel.id}-delete", icon=":material/delete:"):
            service.delete(rt, user.id, channel.id)
            queue_toast("Канал удалён", ":material/delete:")
            st.rerun()


def add(kind: str, target: str, topics: list[str], remind: bool) -> None:
    try:
        service.add(rt, user.id, kind=kind, target=target, topics=topics, remind_hourly=remind)
    except InvalidChannel as problem:
        st.error(md(problem), icon=":material/error:")
        return
    queue_toast("Канал добавлен", ":material/add_alert:")
    st.rerun()


channels = service.channels(rt, user.id)
st.subheader("Каналы", anchor=False)
if not channels:
    st.info("Каналов пока нет: добавьте e-mail, Telegram или другой сервис ниже.", icon=":material/info:")
for item in channels:
    channel_card(item)

st.subheader("Добавить канал", anchor=False)
mail_tab, telegram_tab, other_tab = st.tabs(["E-mail", "Telegram", "Другой сервис (Apprise)"])
with mail_tab, st.form("add-email", clear_on_submit=True):
    address = st.text_input("Адрес", placeholder="ivan@example.ru", key="add-email-address")
    topics = _topics_input("add-email-topics")
    remind = st.checkbox("Напоминать раз в час, пока подключение не работает", key="add-email-remind")
    st.caption("Письма отправляет почтовый сервер connhub (настройки SMTP_* у администратора).")
    if st.form_submit_button("Добавить e-mail"):
        add("email", address, topics, remind)
with telegram_tab, st.form("add-telegram", clear_on_submit=True):
    bot_token = st.text_input("Токен бота", type="password", key="add-telegram-token",
                              help="Создайте бота у @BotFather и вставьте выданный токен")
    chat = st.text_input("Чат", placeholder="-1001234567890 или @my_channel", key="add-telegram-chat",
                         help="Добавьте бота в чат; id чата можно узнать у @userinfobot")
    topics = _topics_input("add-telegram-topics")
    remind = st.checkbox("Напоминать раз в час, пока подключение не работает", key="add-telegram-remind")
    if st.form_submit_button("Добавить Telegram"):
        try:
            url = service.telegram_url(bot_token, chat)
        except InvalidChannel as problem:
            st.error(md(problem), icon=":material/error:")
        else:
            add("telegram", url, topics, remind)
with other_tab, st.form("add-apprise", clear_on_submit=True):
    url = st.text_input("Адрес Apprise", type="password", key="add-apprise-url",
                        placeholder="slack://…, matrix://…, json://example.ru/hook",
                        help="Любой адрес из списка Apprise: https://appriseit.com/services/")
    topics = _topics_input("add-apprise-topics")
    remind = st.checkbox("Напоминать раз в час, пока подключение не работает", key="add-apprise-remind")
    if st.form_submit_button("Добавить"):
        add("apprise", url, topics, remind)
