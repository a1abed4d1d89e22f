"""Where a provider sends the browser back: finish the flow for the signed-in user.

This runs in a new browser session (the provider opened it), so nothing is taken from session
state: the flow row in the database says which user and provider it belongs to, and connhub
refuses it for anyone but the signed-in user.
"""

from __future__ import annotations

import streamlit as st

from connhub import oauth
from connhub.models import AccessKind
from pages.ui.notices import back_to_dashboard_link, set_flash
from pages.ui.routes import ADD_PAGE, DASHBOARD
from pages.ui.session import resolve_access, runtime
from pages.ui.text import Markup, md, provider_titles

st.title("Подключение сервиса", anchor=False)

access = resolve_access()
if access.user is None:
    if access.kind is AccessKind.SIGN_IN:
        st.warning(
            "Войдите в connhub: подключение привязано к вашей учётной записи и без входа не завершится. "
            "После входа начните подключение заново.",
            icon=":material/lock:",
        )
        st.button("Войти", type="primary", icon=":material/login:", on_click=st.login)
    else:
        st.error(md(access.message or "Не удалось определить пользователя."), icon=":material/error:")
    st.stop()

params = {name: st.query_params[name] for name in oauth.CALLBACK_PARAMS if name in st.query_params}
if not params:
    st.info(
        Markup("Сюда попадают сами после подтверждения доступа на сайте {}. "
               "Чтобы подключить сервис, начните со страницы «Добавить подключение».").format(provider_titles("или")),
        icon=":material/info:",
    )
    back_to_dashboard_link()
    st.stop()

with st.status("Завершаем подключение…") as progress:
    result = oauth.complete_authorization(runtime(), user_id=access.user.id, params=params)
    progress.update(label="Готово" if result.ok else "Подключение не удалось",
                    state="complete" if result.ok else "error")
# The code is single-use and now spent; keep it out of the address bar and the history.
st.query_params.clear()

if result.ok:
    set_flash(result.message)
    st.switch_page(DASHBOARD)

st.error(md(result.message), icon=":material/error:")
st.page_link(ADD_PAGE, label="Начать подключение заново", icon=":material/add_link:")
back_to_dashboard_link()
