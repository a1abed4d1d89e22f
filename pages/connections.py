"""Подключения: one card per connection, refreshed on its own, with check and disconnect."""

from __future__ import annotations

import streamlit as st

from connhub import connections
from connhub.connections import ConnectionView
from connhub.health.history_views import CardHistory
from connhub.providers import PROVIDER_INFO
from connhub.runtime import Runtime
from connhub.sync import service as sync_service
from connhub.users import UserView
from pages.ui import sync_schedule
from pages.ui.history import hour_bar
from pages.ui.notices import PENDING_DISCONNECT_KEY, queue_toast, show_flash, show_queued_toast
from pages.ui.routes import ADD_PAGE
from pages.ui.service import service_page
from pages.ui.session import require_user, runtime
from pages.ui.status import check_now_panel, checker_banner, key_banner, render_status
from pages.ui.text import Markup, format_time, md

CARDS_REFRESH_SECONDS = 10

user = require_user()
rt = runtime()

header = st.container(horizontal=True, horizontal_alignment="distribute", vertical_alignment="center")
header.title("Подключения", anchor=False)
if header.button("Добавить", icon=":material/add:", type="primary", key="add-connection"):
    st.switch_page(ADD_PAGE)

show_flash()
show_queued_toast()


def ask_disconnect(connection_id: int, provider: str) -> None:
    st.session_state[PENDING_DISCONNECT_KEY] = {"id": connection_id, "provider": provider}


def cancel_disconnect() -> None:
    st.session_state.pop(PENDING_DISCONNECT_KEY, None)


def disconnect(user_id: int, connection_id: int) -> None:
    cancel_disconnect()
    removed = sync_service.disconnect(runtime(), user_id, connection_id)
    if removed is None:
        queue_toast("Подключение не найдено — возможно, его уже отключили", ":material/error:")
    else:
        queue_toast(f"{removed.title} отключён", ":material/link_off:")


@st.dialog("Отключение", on_dismiss=cancel_disconnect)
def confirm_disconnect(user_id: int, connection_id: int, provider: str) -> None:
    info = PROVIDER_INFO.get(provider)
    title = info.title if info else "это подключение"
    st.write(Markup("Вы уверены, что хотите отключить {}?").format(title))
    sync_note = sync_service.sync_uses(runtime(), user_id, provider)
    if sync_note:
        st.warning(Markup("{}").format(sync_note), icon=":material/sync_disabled:")
    st.caption("Сохранённые токены и история проверок будут удалены. Подключить сервис снова можно в любой момент.")
    buttons = st.container(horizontal=True)
    if buttons.button("Отключить", type="primary", key="confirm-disconnect", icon=":material/link_off:",
                      on_click=disconnect, args=(user_id, connection_id)):
        st.rerun()
    if buttons.button("Отмена", key="cancel-disconnect", on_click=cancel_disconnect):
        st.rerun()


def card(rt: Runtime, user: UserView, view: ConnectionView, history: CardHistory) -> None:
    with st.container(border=True, key=f"conn-{view.provider}"):
        st.subheader(view.title, icon=view.icon, anchor=False)
        body = st.empty()
        hour_bar(history, key=f"history-{view.provider}")
        actions = st.container(horizontal=True)
        if actions.button("Настроить", key=f"settings-{view.provider}", icon=":material/tune:"):
            st.switch_page(service_page(PROVIDER_INFO[view.provider]))
        # The dialog must open outside this fragment: remember what to ask, then rerun the page.
        if actions.button("Отключить", key=f"disconnect-{view.provider}", icon=":material/link_off:",
                          on_click=ask_disconnect, args=(view.id, view.provider)):
            st.rerun()
        check_now_panel(rt, user, view, slot=body, buttons=actions, render=card_body)


def card_body(view: ConnectionView, checking: bool) -> None:
    render_status(view, checking=checking)
    if view.details:
        st.markdown(md(view.details))  # md: outside text escaped (Markup)
    for note in runtime().providers.get(view.provider).card_notes(view.profile):
        st.caption(md(note))
    st.caption(Markup("Последняя проверка: {}").format(format_time(view.last_checked_at)))


@st.fragment(run_every=CARDS_REFRESH_SECONDS)
def cards(user: UserView) -> None:
    # A fresh session and one cheap query per run, so what checker.py writes shows up by itself.
    rt = runtime()
    checker_banner(rt)
    key_banner(rt, user)
    views = connections.dashboard_for(rt, user.id)
    if not views:
        st.info("Нет подключений — нажмите «Добавить»", icon=":material/add_link:")
    for view, history in views:
        card(rt, user, view, history)


cards(user)
sync_schedule.dashboard_line(user.id)  # the sync's freshness next to the cards (issue 17)

pending = st.session_state.get(PENDING_DISCONNECT_KEY)
if pending is not None:
    confirm_disconnect(user.id, pending["id"], pending["provider"])
