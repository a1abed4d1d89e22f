"""Fixtures for the reliability suite: a hostile provider, a database of either kind, the real checker.

Every test here seeds connections straight into the database (their tokens sealed as connhub
would seal them), points all four provider URLs at the hostile server, and runs the real
`checker.py` as its own process, against SQLite and against PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from connhub.models import Base
from connhub.runtime import Runtime
from tests.reliability.hostile import HostileServer
from tests.reliability.hostile_sync import HostileProxy
from tests.support.checker import provider_env
from tests.support.sandbox import settings_for


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


@pytest.fixture
def elsewhere() -> Iterator[HostileServer]:
    """A second server: another origin to redirect to."""
    with HostileServer() as server:
        yield server


@pytest.fixture
def make_hostile_rt(tmp_path, hostile, database_url) -> Iterator[Callable[..., Runtime]]:
    created: list[Runtime] = []

    def factory(**overrides: object) -> Runtime:
        values: dict[str, object] = {"DATABASE_URL": database_url, "HTTP_TIMEOUT_SECONDS": 2,
                                     **provider_env(hostile.base_url)}
        values.update(overrides)
        rt = Runtime.from_settings(settings_for(tmp_path, **values))
        Base.metadata.create_all(rt.engine)
        created.append(rt)
        return rt

    yield factory
    for rt in created:
        rt.close()


@pytest.fixture
def hostile_rt(make_hostile_rt) -> Runtime:
    return make_hostile_rt()


@pytest.fixture
def proxy(sandbox) -> Iterator[HostileProxy]:
    """A hostile proxy in front of the session's sandbox: the sync's providers, answers rewritten at will."""
    with HostileProxy(sandbox.base_url) as running:
        yield running
