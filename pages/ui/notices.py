"""What outlives a run (flash, queued toasts, a pending question), the sandbox badge, the way back."""

from __future__ import annotations

import streamlit as st

from pages.ui.routes import DASHBOARD
from pages.ui.text import md, provider_titles

FLASH_KEY = "_connhub_flash"
TOAST_KEY = "_connhub_toast"
# The dashboard's disconnect question, asked on its next full run (dialogs open outside fragments).
PENDING_DISCONNECT_KEY = "_connhub_pending_disconnect"


def set_flash(message: str) -> None:
    st.session_state[FLASH_KEY] = message


def show_flash() -> None:
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(md(message), icon=":material/check_circle:")


def queue_toast(message: str, icon: str) -> None:
    """A toast for the next full run: callbacks of a dialog (a fragment) should not draw anything."""
    st.session_state[TOAST_KEY] = (message, icon)


def show_queued_toast() -> None:
    queued = st.session_state.pop(TOAST_KEY, None)
    if queued:
        st.toast(md(queued[0]), icon=queued[1])


def back_to_dashboard_link() -> None:
    st.page_link(DASHBOARD, label="Вернуться к подключениям", icon=":material/arrow_back:")


def sandbox_badge() -> None:
    st.badge("Песочница", color="orange", icon=":material/science:",
             help=f"Сервисы {provider_titles('и')} эмулируются локально")
