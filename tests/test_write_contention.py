"""The app and the checker write to one SQLite file: each waits for the other's write lock instead of
failing with "database is locked".

The checker runs its real cycle on its own Runtime (its own engine and connections, as a separate
process would have). Each test makes one side hold the write lock until the other side is seen
blocked inside a write statement, so it cannot pass without real contention.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from connhub.connections import check_now
from connhub.db import write_locked
from connhub.health import results, run_cycle
from connhub.models import CheckRecord, CheckSource, Connection, User, utcnow
from connhub.runtime import Runtime
from tests.support.connect import connect, make_user

WAIT = 30  # seconds: a bound for the conditions below, far above what they take
WRITES = ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")


def blocked_in_a_write(thread: threading.Thread) -> bool:
    """Whether `thread` is inside the database driver executing a write (so, with the lock held
    elsewhere, waiting for it)."""
    frame = sys._current_frames().get(thread.ident or 0)
    while frame is not None:
        if frame.f_code.co_name.startswith("do_execute") and "sqlalchemy" in frame.f_code.co_filename:
            statement = str(frame.f_locals.get("statement", "")).lstrip().upper()
            return statement.startswith(WRITES)
        frame = frame.f_back
    return False


def wait_until(condition: Callable[[], bool], what: str) -> None:
    tick = threading.Event()
    for _ in range(WAIT * 200):
        if condition():
            return
        tick.wait(0.005)
    raise AssertionError(f"timed out waiting until {what}")


@pytest.fixture
def checker_rt(rt: Runtime) -> Iterator[Runtime]:
    """The checker's own runtime on the same database file."""
    other = Runtime.from_settings(rt.settings)
    yield other
    other.close()


def seeded(rt: Runtime, count: int) -> list[tuple[int, int]]:
    pairs = []
    for n in range(count):
        user = make_user(rt, f"user{n}")
        pairs.append((user.id, connect(rt, user, "evotor")))
    with rt.sessions() as session:
        session.execute(update(Connection).values(next_check_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    return pairs


class Thread(threading.Thread):
    """A thread that keeps its target's result or exception for the test to look at."""

    def __init__(self, target: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self._work = target
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._work()
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            self.error = exc


@pytest.mark.sqlite_only("SQLite's one write lock; on PostgreSQL writes to other rows do not wait")
def test_an_app_write_waits_while_the_checker_writes_its_results(rt, checker_rt, monkeypatch):
    (user_id, connection_id), *_ = seeded(rt, 5)
    checker_writing = threading.Event()
    order: list[str] = []
    app: Thread | None = None
    real = results.write_locked

    @contextmanager
    def checker_holds_the_lock(sessions: sessionmaker[Session]) -> Iterator[Session]:
        with real(sessions) as session:
            if sessions is checker_rt.sessions and not checker_writing.is_set():
                checker_writing.set()  # BEGIN IMMEDIATE ran: the checker holds the write lock
                wait_until(lambda: app is not None and blocked_in_a_write(app), "the app waits for the lock")
                order.append("checker writes")
            yield session

    monkeypatch.setattr(results, "write_locked", checker_holds_the_lock)
    checker = Thread(lambda: run_cycle(checker_rt, worker_id="checker", concurrency=4))

    def manual_check() -> Any:
        assert checker_writing.wait(WAIT)
        view = check_now(rt, user_id=user_id, connection_id=connection_id)  # «Проверить сейчас»
        order.append("app writes")
        return view

    app = Thread(manual_check)
    checker.start()
    app.start()
    checker.join(WAIT)
    app.join(WAIT)
    assert (checker.error, app.error) == (None, None)
    assert order == ["checker writes", "app writes"]
    assert checker.result.written == 5 and app.result is not None
    with rt.sessions() as session:
        sources = list(session.scalars(select(CheckRecord.source).where(CheckRecord.connection_id == connection_id)))
    assert sorted(sources) == sorted([CheckSource.CONNECT, CheckSource.CHECKER, CheckSource.MANUAL])


def test_the_checker_waits_while_the_app_holds_the_write_lock(rt, checker_rt):
    seeded(rt, 5)
    app_holds = threading.Event()
    checker: Thread | None = None

    def sign_up_while_the_checker_claims() -> None:
        with write_locked(rt.sessions) as session:  # what a sign-in does: insert a user
            session.execute(insert(User).values(subject="oidc:late", email="", name="Late"))
            app_holds.set()
            wait_until(lambda: checker is not None and blocked_in_a_write(checker), "the checker waits for the lock")
            session.commit()

    app = Thread(sign_up_while_the_checker_claims)
    app.start()
    assert app_holds.wait(WAIT)
    checker = Thread(lambda: run_cycle(checker_rt, worker_id="checker", concurrency=4))
    checker.start()
    app.join(WAIT)
    checker.join(WAIT)
    assert (app.error, checker.error) == (None, None)
    assert checker.result.written == 5
