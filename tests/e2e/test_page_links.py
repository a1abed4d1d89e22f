"""A page link opened as the very first request after the app starts shows connhub's own navigation.

Streamlit decides once per process, when the first session starts, whether the app is a `pages/`
directory app (the `pages/` folder exists next to app.py): until some script run calls
st.navigation, every run of that process executes the page file named by the URL directly, under a
menu of file names («app, add connection, … sync runs»), bypassing app.py's sign-in gate. A bookmark
or an OAuth return right after a restart landed there. Each link here gets a fresh server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine

from connhub.models import Base
from connhub.runtime import emulations
from connhub.sandbox import sandbox_env

from .conftest import base_env, start_app
from .helpers import ARTIFACTS, free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore:Use of a session fixture for base_url:DeprecationWarning"),
]

# Each url path of the signed-in app, with the title its page shows.
LINKS = {
    "catalog": "Каталог",
    "sync": "Синхронизация",
    "connections": "Подключения",
    "add": "Добавить подключение",
    "overview": "Обзор",
    # A provider's redirect right after a restart: the query string must reach the callback page.
    "oauth_callback?code=abc&state=unknown-state": "Подключение сервиса",
}
NAVIGATION = ("Подключения", "Добавить подключение", "Каталог", "Синхронизация")
FILE_NAMES = ("app", "add connection", "oauth callback", "sync runs", "connections")


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    run_dir = tmp_path_factory.mktemp("page-links")
    url = f"sqlite:///{run_dir / 'connhub.db'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    env = base_env(DATABASE_URL=url, CONNHUB_DATA_DIR=str(run_dir / "data"),
                   **sandbox_env("http://127.0.0.1:9", emulations()))  # the sandbox's addresses: the badge shows
    (run_dir / "secrets-local.toml").write_text("# local mode: no [auth]\n")
    yield env, run_dir


@pytest.mark.parametrize("path", list(LINKS))
def test_a_page_link_opened_first_on_a_fresh_server_shows_connhubs_navigation(fresh_env, page: Page, path: str):
    env, run_dir = fresh_env
    port = free_port()
    logs = ARTIFACTS.parent / "page-links"
    app = start_app(f"app-{path}", env={**env, "PUBLIC_URL": f"http://localhost:{port}"}, run_dir=run_dir, port=port,
                    secrets_file=run_dir / "secrets-local.toml", logs=logs)
    try:
        page.goto(f"http://localhost:{port}/{path}")
        sidebar = page.get_by_test_id("stSidebar")
        # The first run of a fresh process imports everything (seconds on a busy machine); the menu of
        # file names Streamlit sends before it is replaced when app.py's st.navigation runs.
        expect(page.get_by_role("heading", name=LINKS[path]).first).to_be_visible(timeout=60_000)
        navigation = sidebar.get_by_test_id("stSidebarNav")
        for title in NAVIGATION:
            expect(navigation.get_by_role("link", name=title, exact=True)).to_be_visible()
        links = [text.strip() for text in navigation.get_by_role("link").all_inner_texts()]
        assert not set(links) & set(FILE_NAMES), links
        expect(sidebar.get_by_text("Локальный режим, без входа")).to_be_visible()  # the user block
        expect(sidebar.get_by_text("Песочница").first).to_be_visible()
        route, _, query = path.partition("?")
        if route != "connections":  # the default page is served as /
            assert re.search(rf"/{route}$", page.url)  # (the callback page clears its query once read)
        if query:  # the provider's parameters reached the callback page: it looked the state up
            expect(page.get_by_text("Ссылка подключения не найдена")).to_be_visible()
        page.screenshot(path=str(logs / f"{path.split('?')[0]}.png"))
    finally:
        app.stop()
