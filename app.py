"""connhub's Streamlit entrypoint: page config, the sign-in gate and the router.

Who gets what:
  - `[auth]` in .streamlit/secrets.toml: users sign in with st.login (the company's OIDC
    provider); a logged-out session sees only the sign-in page and the OAuth callback page
    (which asks them to sign in).
  - no `[auth]`: one implicit local operator, served only on a loopback address; on any other
    address every URL shows an error page that says how to configure sign-in.
Every code path calls st.navigation, so Streamlit never falls back to listing pages/ on its own
(the first run of a fresh process, which Streamlit starts at the page file itself, is sent back
here by pages/__init__.py). «Обзор» is listed for administrators only (connhub.admin.access).
"""

from __future__ import annotations

import streamlit as st

from connhub.models import AccessKind
from connhub.providers import PROVIDER_INFO
from pages.ui.admin import admin_actor
from pages.ui.notices import sandbox_badge
from pages.ui.routes import ADD_PAGE, CALLBACK_PAGE, CATALOG_PAGE, DASHBOARD
from pages.ui.service import service_page
from pages.ui.session import resolve_access, runtime, server_address
from pages.ui.text import Markup, md, provider_titles

st.set_page_config(page_title="connhub", page_icon=":material/hub:", layout="wide")

# Registered in every state where it can do anything: the provider's redirect opens it in a new
# session, which may not have been routed anywhere yet.
callback_page = st.Page(CALLBACK_PAGE, title="Завершение подключения", icon=":material/link:",
                        url_path="oauth_callback", visibility="hidden")


def sign_in_page() -> None:
    st.title("connhub", anchor=False)
    st.write(f"Подключения к {provider_titles('и')} и их состояние. Войдите рабочей учётной записью.")
    st.button("Войти", type="primary", icon=":material/login:", on_click=st.login)


def local_refused_page() -> None:
    address = server_address() or "все сетевые интерфейсы"
    st.title("connhub: вход не настроен", anchor=False)
    if access.message:  # a loopback bind, but the page was opened by another name (DNS rebinding?)
        where = Markup("но эта страница открыта по имени {}, а не localhost или 127.0.0.1. "
                       "Так может действовать чужой сайт, подменивший адрес своего имени на этот компьютер. "
                       "Без входа он увидел бы и изменил подключения, поэтому страницы не показываются."
                       ).format(access.message)
    else:
        where = Markup("но слушает не только этот компьютер (адрес: {}). Без входа любой, кто откроет "
                       "этот адрес, увидит и изменит подключения, поэтому страницы не показываются.").format(address)
    st.error(
        Markup("connhub запущен без входа пользователей (локальный режим для одного оператора), {}").format(where),
        icon=":material/lock:",
    )
    st.markdown(
        "Сделайте одно из двух:\n\n"
        "1. **Настройте вход.** Скопируйте `secrets.toml.example` в `.streamlit/secrets.toml`, заполните "
        "раздел `[auth]` (redirect_uri, cookie_secret, client_id, client_secret, server_metadata_url "
        "вашего OIDC-провайдера) и перезапустите connhub.\n"
        "2. **Работайте только локально.** Запустите `streamlit run app.py --server.address 127.0.0.1`."
    )


def problem_page(message: str) -> None:
    st.title("connhub", anchor=False)
    st.error(md(message), icon=":material/error:")


access = resolve_access()

with st.sidebar:
    if access.kind is not AccessKind.CONFIG_ERROR and runtime().settings.uses_sandbox:
        sandbox_badge()
    if access.user is not None:
        st.caption("Вы вошли как" if access.oidc else "Локальный режим, без входа")
        st.markdown(Markup("**{}**").format(access.user.label))
    if access.oidc and access.kind in (AccessKind.OK, AccessKind.BAD_IDENTITY):
        st.button("Выйти", icon=":material/logout:", on_click=st.logout, key="sign-out")

# The signed-in app: the dashboard, the add page and one service page per registered provider.
# Its url paths are also served to everyone else, by the page they should see instead, so that a
# bookmarked /add shows the sign-in page rather than "Page not found".
app_pages = [
    st.Page(DASHBOARD, title="Подключения", icon=":material/hub:", url_path="connections", default=True),
    st.Page(ADD_PAGE, title="Добавить подключение", icon=":material/add_link:", url_path="add"),
    st.Page(CATALOG_PAGE, title="Каталог", icon=":material/inventory_2:", url_path="catalog"),
    *(service_page(info) for info in PROVIDER_INFO.values()),
    st.Page("pages/sync.py", title="Синхронизация", icon=":material/sync:", url_path="sync"),
    st.Page("pages/orders.py", title="Заказы", icon=":material/receipt_long:", url_path="orders"),
    st.Page("pages/journal.py", title="Журнал", icon=":material/history:", url_path="journal"),  # lane notify
    st.Page("pages/notifications.py", title="Уведомления", icon=":material/notifications:",
            url_path="notifications"),
]


def instead_of_the_app(render, title: str, icon: str, *, extra_paths: tuple[str, ...] = ()) -> list:
    paths = ["", *(page.url_path for page in app_pages[1:]), *extra_paths]  # "" is the default page
    return [st.Page(render, title=title, icon=icon, url_path=path, default=index == 0,
                    visibility="visible" if index == 0 else "hidden")
            for index, path in enumerate(paths)]


# «Обзор» (issue 21): listed for administrators only; anyone else opening /overview gets a refusal.
OVERVIEW_PAGE = "pages/overview.py"
administrator = access.kind is AccessKind.OK and admin_actor(access) is not None
app_pages.append(st.Page(OVERVIEW_PAGE, title="Обзор", icon=":material/monitoring:", url_path="overview",
                         visibility="visible" if administrator else "hidden"))

if access.kind is AccessKind.OK:
    pages, position = [*app_pages, callback_page], "sidebar"
elif access.kind is AccessKind.SIGN_IN:
    pages, position = [*instead_of_the_app(sign_in_page, "Вход", ":material/login:"), callback_page], "hidden"
elif access.kind is AccessKind.LOCAL_REFUSED:
    pages = instead_of_the_app(local_refused_page, "Вход не настроен", ":material/lock:",
                               extra_paths=("oauth_callback",))
    position = "hidden"
else:
    message = access.message or "Не удалось определить пользователя."
    if access.kind is AccessKind.CONFIG_ERROR:
        message = f"Ошибка конфигурации connhub: {access.message}"
    pages = instead_of_the_app(lambda: problem_page(message), "Ошибка", ":material/error:",
                               extra_paths=("oauth_callback",))
    position = "hidden"

st.navigation(pages, position=position).run()
