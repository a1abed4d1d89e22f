"""A connection's status as a badge, the checker banner, and the «Проверить сейчас» panel that the
dashboard's card and the service page share."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from connhub import connections
from connhub.connections import ConnectionView
from connhub.models import Status
from connhub.runtime import Runtime
from connhub.users import UserView
from pages.ui.text import Markup, format_time, md

CHECKING_KEY = "_connhub_checking"

STATUS_BADGES: dict[Status, tuple[str, str, str]] = {
    Status.ONLINE: ("В сети", "green", ":material/check_circle:"),
    Status.OFFLINE: ("Нет связи", "red", ":material/cloud_off:"),
    Status.RECONNECT: ("Требуется переподключение", "red", ":material/link_off:"),
    Status.NEVER_CHECKED: ("Не проверялось", "gray", ":material/schedule:"),
}
CHECKING_BADGE = ("Проверяем…", "gray", ":material/progress_activity:")


def render_status(view: ConnectionView, *, checking: bool = False) -> None:
    label, color, icon = CHECKING_BADGE if checking else STATUS_BADGES[view.status]
    st.badge(label, color=color, icon=icon)
    if view.status_reason and not checking:
        if view.status is Status.ONLINE:
            st.caption(md(view.status_reason))
        else:
            st.markdown(Markup(":red[{}]").format(view.status_reason))


def key_banner(rt: Runtime, user: UserView) -> None:
    """The encryption key does not open this user's stored tokens: say it is ours to fix."""
    unreadable = connections.unreadable_tokens(rt, user.id)
    if not unreadable:
        return
    st.error(Markup(
        "Ключ шифрования connhub не подходит к сохранённым токенам "
        "(подключений с нечитаемым токеном: {}). Статусы ниже не обновляются, пока это не исправлено. "
        "Это не ошибка подключений: администратору нужно вернуть прежний ключ (CONNHUB_SECRET_KEY или файл "
        "data/secret.key; новый ключ можно указать первым, а прежний — через запятую после него). "
        "Переподключать сервисы не нужно, если ключ можно вернуть.").format(unreadable),
        icon=":material/key_off:",
    )


def checker_banner(rt: Runtime) -> None:
    status = connections.checker_state(rt)
    if not status.stale:
        return
    if status.last_beat_at is None:
        text = ("Фоновая проверка не работает: от checker.py ещё не было ни одного сигнала. "
                "Статусы не обновляются сами — запустите checker.py.")
    else:
        text = (f"Фоновая проверка не работает: последний сигнал {format_time(status.last_beat_at)}. "
                "Статусы могут быть устаревшими — проверьте процесс checker.py.")
    st.warning(text, icon=":material/warning:")


def _start_check(connection_id: int) -> None:
    st.session_state[CHECKING_KEY] = connection_id


def check_now_panel(rt: Runtime, user: UserView, view: ConnectionView, *, slot: DeltaGenerator,
                    buttons: DeltaGenerator, render: Callable[[ConnectionView, bool], None]) -> ConnectionView:
    """Draw `render(view, checking)` into `slot` and «Проверить сейчас» into `buttons`.

    A click marks the check as requested and reruns (so the badge says «Проверяем…» at once); that
    run performs the checker's own check, toasts the result and redraws `slot` with it. Returns
    the view as now shown; reruns the page when the connection vanished meanwhile.
    """
    checking = st.session_state.get(CHECKING_KEY) == view.id
    with slot.container():
        render(view, checking)
    buttons.button("Проверить сейчас", key=f"check-{view.provider}", icon=":material/refresh:", disabled=checking,
                   on_click=_start_check, args=(view.id,))
    if not checking:
        return view
    st.session_state.pop(CHECKING_KEY, None)
    with st.spinner(f"Проверяем {view.title}…"):
        updated = connections.check_now(rt, user_id=user.id, connection_id=view.id)
    if updated is None:
        st.toast("Подключение не найдено — возможно, его уже отключили", icon=":material/error:")
        st.rerun()
    label = STATUS_BADGES[updated.status][0].lower()
    if updated.status_reason:
        st.toast(Markup("{}: {} — {}").format(updated.title, label, updated.status_reason), icon=":material/warning:")
    else:
        icon = ":material/check_circle:" if updated.is_online else ":material/warning:"
        st.toast(Markup("{}: {}").format(updated.title, label), icon=icon)
    with slot.container():
        render(updated, False)
    return updated
