"""Where a provider sends the browser back: finish the flow for the signed-in user.

This runs in a new browser session (the provider opened it), so nothing is taken from session
state: the flow row in the database says which user and provider it belongs to, and connhub
refuses it for anyone but the signed-in user.
"""

from __future__ import annotations

import streamlit as st

from connhub import oauth
from pages import common

st.title("Подключение сервиса", anchor=False)

access = common.resolve_access()
if access.user is None:
    if access.kind == "sign_in":
        st.warning(
            "Войдите в connhub: подключение привязано к вашей учётной записи и без входа не завершится. "
            "После входа начните подключение заново.",
            icon=":material/lock:",
        )
        st.button("Войти", type="primary", icon=":material/login:", on_click=st.login)
    else:
        st.error(common.md(access.message or "Не удалось определить пользователя."), icon=":material/error:")
    st.stop()

params = {name: st.query_params[name] for name in oauth.CALLBACK_PARAMS if name in st.query_params}
if not params:
    st.info(
        f"Сюда попадают сами после подтверждения доступа на сайте {common.provider_titles('или')}. "
        "Чтобы подключить сервис, начните со страницы «Добавить подключение».",
        icon=":material/info:",
    )
    common.back_to_dashboard_link()
    st.stop()

with st.status("Завершаем подключение…") as progress:
    result = oauth.complete_authorization(common.runtime(), user_id=access.user.id, params=params)
    progress.update(label="Готово" if result.ok else "Подключение не удалось",
                    state="complete" if result.ok else "error")
# The code is single-use and now spent; keep it out of the address bar and the history.
st.query_params.clear()

if result.ok:
    common.set_flash(result.message)
    st.switch_page(common.DASHBOARD)

st.error(common.md(result.message), icon=":material/error:")
st.page_link(common.ADD_PAGE, label="Начать подключение заново", icon=":material/add_link:")
common.back_to_dashboard_link()
