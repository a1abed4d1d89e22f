"""AppTest fixtures for the Streamlit pages.

The app builds its own Runtime from environment variables (cached by st.cache_resource), so
each test exports the settings of its `rt` (a fresh SQLite file, the session's sandbox) and
clears Streamlit's caches: the app under test then talks to the same database as the test.
"""
# Fixtures for opening the app in AppTest, shared by tests/pages, tests/admin and tests/notify (each
# conftest imports what it uses from here: support modules, never conftests, are what tests share).

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from connhub.runtime import Runtime
from connhub.users import OIDC_PREFIX, UserView

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 20
# Present in every test's secrets so a developer's own .streamlit/secrets.toml never leaks in.
AUTH_SECRETS = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret",
    "client_id": "connhub-tests",
    "client_secret": "test-client-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


@pytest.fixture(autouse=True)
def fresh_streamlit_caches() -> Iterator[None]:
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture(autouse=True)
def keep_main_module() -> Iterator[None]:
    """AppTest runs app.py as __main__ and leaves it there; multiprocessing's spawn (used by other
    tests in this process) would then re-run app.py in every child."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture
def server_address() -> Iterator[Callable[[str | None], None]]:
    """Set Streamlit's server.address for the app under test (restored afterwards)."""
    previous = st_config.get_option("server.address")

    def set_address(value: str | None) -> None:
        st_config.set_option("server.address", value)

    yield set_address
    st_config.set_option("server.address", previous)


def export_settings(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in rt.settings.env().items():
        monkeypatch.setenv(name, value)


def app_opener(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    export_settings(rt, monkeypatch)

    def open_app(user: UserView | None = None, *, page: str | None = None,
                 query_params: dict[str, str] | None = None, timezone: str | None = "Europe/Moscow",
                 auth: bool = True, session_state: dict[str, Any] | None = None,
                 claims: dict[str, Any] | None = None, url: str | None = None) -> AppTest:
        """Run app.py as `user` (None: logged out) and land on `page` (a path like "pages/add_connection.py").

        auth=False runs the local mode (no [auth] section); the caller sets server.address.
        """
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        if auth:
            at.secrets["auth"] = dict(AUTH_SECRETS)
        else:
            at.secrets["connhub_tests"] = "local mode: no [auth] section"
        if auth and user is not None:
            at.user["is_logged_in"] = True
            at.user["sub"] = user.subject.removeprefix(OIDC_PREFIX)
            at.user["email"] = user.email
            at.user["name"] = user.name
        elif auth:
            at.user["is_logged_in"] = False
        for key, value in (claims or {}).items():
            at.user[key] = value
        if timezone:
            at.context["timezone"] = timezone
        if url:
            at.context["url"] = url  # the page's address as the browser shows it
        for key, value in (session_state or {}).items():
            at.session_state[key] = value
        at.run()
        if page is not None:
            for key, value in (query_params or {}).items():
                at.query_params[key] = value
            if page.endswith(".py"):
                at.switch_page(page)
            else:  # a page without a file of its own (a provider's service page): by its url path
                at._page_hash = calc_hash(page)
            at.run()
        return at

    return open_app


@pytest.fixture
def open_app(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """Open the app against the test's `rt` (its database and the sandbox)."""
    return app_opener(rt, monkeypatch)


@pytest.fixture
def open_app_factory_for(monkeypatch: pytest.MonkeyPatch) -> Callable[[Runtime], Callable[..., AppTest]]:
    """Open the app against another runtime, e.g. one with other settings."""
    return lambda rt: app_opener(rt, monkeypatch)


@pytest.fixture
def app_rt(rt: Runtime, open_app) -> Runtime:
    """The runtime the app under test shares (same database, same sandbox)."""
    return rt
