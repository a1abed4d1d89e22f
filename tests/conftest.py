"""Shared fixtures: a fresh database per test, the sandbox providers, users, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from connhub.models import Base
from connhub.providers.evotor.sandbox import catalog_http as sandbox_catalog
from connhub.providers.vk.sandbox import GoodsControl
from connhub.runtime import Runtime, emulations
from connhub.sandbox import SandboxControl, SandboxServer
from connhub.users import UserView
from tests.support.connect import make_user
from tests.support.sandbox import settings_for

PG_ADMIN_URL = os.environ.get("CONNHUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(emulations(), port=0) as server:
        yield server


@pytest.fixture
def sandbox_control(sandbox: SandboxServer) -> Iterator[SandboxControl]:
    control = SandboxControl(sandbox.base_url)
    control.reset()
    yield control
    control.reset()


@pytest.fixture
def evotor_catalog(sandbox, sandbox_control) -> Callable[..., Any]:
    """The sandbox Evotor catalog's control endpoint (images, refusals, counters), reset with the sandbox."""
    return lambda **payload: sandbox_catalog.configure(SandboxControl(sandbox.base_url), **payload)


@pytest.fixture
def vk_goods(sandbox, sandbox_control) -> GoodsControl:
    """The VK goods side of the session's sandbox (communities, items, rights tokens, call counters),
    reset around each test with the rest of the sandbox. The one fixture for it: `control` elsewhere
    means the sandbox's own control API."""
    return GoodsControl(sandbox.base_url)


SQLITE = "sqlite"
POSTGRESQL = "postgresql"


@pytest.fixture(params=[SQLITE, pytest.param(POSTGRESQL, marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """Each database connhub supports, in turn: SQLite (the embedded default) and PostgreSQL (skipped,
    with the reason, when the server is unreachable). Every runtime a test makes (`rt`, `make_rt`,
    `db_rt`) sits on it, so every test that touches the database runs on both; a test that is about
    SQLite itself (its file, its locks, its pragmas) says so with `@pytest.mark.sqlite_only("why")`."""
    if request.param == SQLITE:
        return f"sqlite:///{tmp_path}/connhub.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def make_rt(tmp_path, sandbox, sandbox_control, database_url) -> Iterator[Callable[..., Runtime]]:
    """Runtimes on this test's database (`database_url`, unless a test passes its own DATABASE_URL)."""
    created: list[Runtime] = []

    def factory(**overrides: object) -> Runtime:
        rt = Runtime.from_settings(settings_for(tmp_path, sandbox, **{"DATABASE_URL": database_url, **overrides}))
        Base.metadata.create_all(rt.engine)
        created.append(rt)
        return rt

    yield factory
    for rt in created:
        rt.close()


@pytest.fixture
def rt(make_rt) -> Runtime:
    """A runtime on each database in turn (see `database_url`)."""
    return make_rt()


@pytest.fixture
def db_rt(make_rt) -> Runtime:
    """A runtime on each database in turn, like `rt` (the name from when only some tests ran on both)."""
    return make_rt()


@pytest.fixture
def alice(rt) -> UserView:
    return make_user(rt, "alice")


@pytest.fixture
def bob(rt) -> UserView:
    return make_user(rt, "bob")


# ----------------------------------------------------------------------------- PostgreSQL

def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `sqlite_only` skips its PostgreSQL half, with the marker's reason. A test that takes
    a PostgreSQL fixture itself (and so passes its own DATABASE_URL) runs once: its `database_url` SQLite
    half, the same run again, is deselected. A test that takes a PostgreSQL fixture must carry the
    `postgres` marker (so `-m "not postgres"` and the skip reason mean what they say); `database_url`'s
    PostgreSQL half carries it already."""
    duplicates: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        half = callspec.params.get("database_url") if callspec is not None else None
        only = item.get_closest_marker("sqlite_only")
        if only is not None and half == POSTGRESQL:
            reason = only.args[0] if only.args else only.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))
        if half == SQLITE and {"pg_url", "pg_server_url"} & set(getattr(item, "fixturenames", ())):
            duplicates.append(item)
    if duplicates:
        config.hook.pytest_deselected(items=duplicates)
        items[:] = [item for item in items if item not in duplicates]
    unmarked = [item.nodeid for item in items
                if {"pg_url", "pg_server_url"} & set(getattr(item, "fixturenames", ()))
                and item.get_closest_marker("postgres") is None]
    if unmarked:
        raise pytest.UsageError("PostgreSQL tests without @pytest.mark.postgres:\n  " + "\n  ".join(unmarked))


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
    """The session's PostgreSQL database, emptied before each test. A session an earlier test left
    open (idle in a transaction: harmless on SQLite) holds locks that would make the emptying wait
    for ever; it fails within a lock timeout instead, naming the query that session ran last."""
    engine = create_engine(pg_server_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '30s'"))
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    except OperationalError:
        with engine.connect() as connection:
            held = connection.scalars(text(
                "SELECT left(query, 200) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'idle in transaction'")).all()
        pytest.fail(f"an earlier test left a database session open (close it: `with rt.sessions() as ...`); "
                    f"its last query: {held}")
    finally:
        engine.dispose()
    yield pg_server_url
