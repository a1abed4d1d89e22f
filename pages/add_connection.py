"""Добавить подключение: the provider types this user has not connected yet."""

from __future__ import annotations

import streamlit as st

from connhub import connections
from connhub.providers import PROVIDER_INFO
from pages.ui.connect import connect_link, token_form, watch_flows
from pages.ui.notices import back_to_dashboard_link
from pages.ui.routes import DASHBOARD
from pages.ui.session import require_user, runtime

user = require_user()
rt = runtime()

st.title("Добавить подключение", anchor=False)

available = connections.addable_providers(rt, user.id)

if not available:
    st.success("Все доступные сервисы подключены", icon=":material/task_alt:")

for info in available:
    with st.container(border=True, key=f"add-{info.key}"):
        st.subheader(info.title, icon=info.icon, anchor=False)
        st.write(info.description)
        connect_link(user, info, label="Подключить")
        if info.supports_token_paste:
            token_form(rt, user, info, title="Ввести токен", on_success=lambda _result: st.switch_page(DASHBOARD))

# Every provider, not only those still offered: a flow that just landed makes its provider connected.
watch_flows(user, list(PROVIDER_INFO), [info.key for info in available], DASHBOARD)

back_to_dashboard_link()
