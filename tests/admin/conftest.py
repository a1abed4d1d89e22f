"""Administrators and the rest: a runtime with ADMIN_EMAILS and an admin group claim set, users who
are and are not administrators, and the app opened as each of them (AppTest, as tests/pages)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest

from connhub.runtime import Runtime
from connhub.users import UserView
from tests.support.admin import ADMIN_SETTINGS
from tests.support.apptest import (  # noqa: F401 - fixtures
    app_opener,
    fresh_streamlit_caches,
    keep_main_module,
    server_address,
)
from tests.support.connect import make_user


@pytest.fixture
def rt(make_rt) -> Runtime:
    """The test's runtime, with administrators configured (alice by e-mail, the group by claim)."""
    return make_rt(**ADMIN_SETTINGS)


@pytest.fixture
def carol(rt) -> UserView:
    """Not listed by e-mail: an administrator only through the group claim."""
    return make_user(rt, "carol")


@pytest.fixture
def open_app(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    return app_opener(rt, monkeypatch)
