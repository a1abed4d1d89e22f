"""Добавить подключение: the provider types this user has not connected yet."""

from __future__ import annotations

import streamlit as st

from connhub import connections
from connhub.providers import PROVIDER_INFO
from pages import common

user = common.require_user()
rt = common.runtime()

st.title("Добавить подключение", anchor=False)

if common.any_authorization_pending(list(PROVIDER_INFO)):
    common.watch_authorizations(user, list(PROVIDER_INFO), common.DASHBOARD)

with rt.sessions() as session:
    available = connections.available_providers(session, user.id)

if not available:
    st.success("Все доступные сервисы подключены", icon=":material/task_alt:")

for info in available:
    with st.container(border=True, key=f"add-{info.key}"):
        st.subheader(info.title, icon=info.icon, anchor=False)
        st.write(info.description)
        common.authorize_controls(user, info, label="Подключить")
        if info.supports_token_paste:
            common.token_form(rt, user, info, title="Ввести токен",
                              on_success=lambda _result: st.switch_page(common.DASHBOARD))

common.back_to_dashboard_link()
