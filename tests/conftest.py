"""Shared fixtures: a fresh database per test, the sandbox providers, users, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from connhub.config import Settings, load_settings
from connhub.models import Base
from connhub.runtime import Runtime
from connhub.sandbox import SandboxControl, SandboxServer
from connhub.users import UserView, ensure_user, oidc_subject

SECRET_KEY = Fernet.generate_key().decode()
PG_ADMIN_URL = os.environ.get("CONNHUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def settings_for(tmp_path, sandbox: SandboxServer | None = None, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "_env_file": None,
        "DATABASE_URL": f"sqlite:///{tmp_path}/connhub.db",
        "CONNHUB_SECRET_KEY": SECRET_KEY,
        "CONNHUB_DATA_DIR": tmp_path,
        "HEALTH_CHECK_INTERVAL_SECONDS": 60,
        "HTTP_TIMEOUT_SECONDS": 5,
    }
    if sandbox is not None:
        values.update(sandbox.env())
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(port=0) as server:
        yield server


@pytest.fixture
def sandbox_control(sandbox: SandboxServer) -> Iterator[SandboxControl]:
    control = SandboxControl(sandbox.base_url)
    control.reset()
    yield control
    control.reset()


@pytest.fixture
def make_rt(tmp_path, sandbox, sandbox_control) -> Iterator[Callable[..., Runtime]]:
    created: list[Runtime] = []

    def factory(**overrides: object) -> Runtime:
        rt = Runtime.from_settings(settings_for(tmp_path, sandbox, **overrides))
        Base.metadata.create_all(rt.engine)
        created.append(rt)
        return rt

    yield factory
    for rt in created:
        rt.close()


@pytest.fixture
def rt(make_rt) -> Runtime:
    return make_rt()


def make_user(rt: Runtime, subject: str) -> UserView:
    with rt.sessions() as session:
        return ensure_user(session, subject=oidc_subject(subject), email=f"{subject}@example.test",
                           name=subject.title())


@pytest.fixture
def alice(rt) -> UserView:
    return make_user(rt, "alice")


@pytest.fixture
def bob(rt) -> UserView:
    return make_user(rt, "bob")


class _ConsentForm(HTMLParser):
    """The fields a browser would submit from the sandbox consent page."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "input" and attributes.get("type") == "hidden":
            self.fields[attributes["name"]] = attributes.get("value", "")
        elif tag == "select":
            self._select = attributes.get("name")
        elif tag == "option" and self._select and ("selected" in attributes or self._select not in self.fields):
            self.fields[self._select] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def consent(authorize_url: str, *, decision: str = "allow", account: str | None = None) -> dict[str, str]:
    """Answer the sandbox consent page as a user would; return the callback's query params."""
    page = requests.get(authorize_url, timeout=5)
    page.raise_for_status()
    form = _ConsentForm()
    form.feed(page.text)
    fields = {**form.fields, "decision": decision}
    if account is not None:
        fields["account"] = account
    answer = requests.post(authorize_url.split("?")[0], data=fields, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    return dict(parse_qsl(urlsplit(answer.headers["Location"]).query))


def connect(rt: Runtime, user: UserView, provider: str, *, account: str | None = None) -> int:
    """Connect a provider through the real OAuth flow against the sandbox; return the connection id."""
    from connhub.oauth import begin_authorization, complete_authorization

    params = consent(begin_authorization(rt, user_id=user.id, provider=provider), account=account)
    result = complete_authorization(rt, user_id=user.id, params=params)
    assert result.ok, result.message
    assert result.connection_id is not None
    return result.connection_id


# ----------------------------------------------------------------------------- PostgreSQL

@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect():
            pass
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {make_url(PG_ADMIN_URL).render_as_string()}: "
                    f"{type(exc.orig).__name__}")
    name = f"connhub_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """The session's PostgreSQL database, emptied before each test."""
    engine = create_engine(pg_server_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    yield pg_server_url
