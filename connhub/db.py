"""Engine and session factory.

SQLite (the embedded default) is shared by the app and the checker, two processes, so it runs
in WAL mode with a generous busy timeout: readers never block the writer and a writer waits
for another instead of failing with "database is locked". Transactions are begun by us
(`BEGIN` or `BEGIN IMMEDIATE`) rather than by the driver, so a token refresh can take the
write lock up front and re-read the row under it. Each connection's page cache is 512 KiB (SQLite's
default is 2 MB): the checker holds a pool of them, the OS caches the file anyway, and the
checker's peak memory is a goal of its own (issue 19).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, CursorResult, Engine, Result, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# How long a sync process keeps waiting for SQLite's write lock held by another process (each
# attempt waits the busy timeout) before it stops with a reason (`retry_while_locked`).
WRITE_WAIT_SECONDS = 120.0

log = logging.getLogger(__name__)
T = TypeVar("T")


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)


def _make_sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False, "cached_statements": 16},
        pool_size=20,
        max_overflow=20,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (below) emit BEGIN instead of the driver's implicit one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-512")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = "IMMEDIATE" if connection.get_execution_options().get("write_lock") else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def begin_write(session: Session) -> Session:
    """Begin the session's transaction holding the write lock (SQLite: `BEGIN IMMEDIATE`).

    Any transaction that reads and then writes must start this way on SQLite: in WAL mode a
    deferred transaction that read an older snapshot fails at its first write with "database
    is locked" at once, without waiting out the busy timeout.
    """
    session.connection(execution_options={"write_lock": True})
    return session


@contextmanager
def write_locked(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose transaction holds the database write lock from its first statement.

    On SQLite this is `BEGIN IMMEDIATE`: another writer waits (busy timeout) until we commit,
    which makes read-then-write sequences atomic across processes. On PostgreSQL it is a
    plain transaction; callers lock rows with `SELECT ... FOR UPDATE`.

    On SQLite the writers of one process also queue on a lock of the process first
    (`_process_writer`), so a thread whose turn comes is woken at once: SQLite's busy handler
    would have it sleep and poll (1, 2, 5, 10, 15, 20, 25 … ms), which made a checker's 48
    threads wait for the write lock several times longer than it was held.
    """
    with _process_writer(sessions), sessions() as session:
        yield begin_write(session)


_writers: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
_writers_guard = threading.Lock()


@contextmanager
def _process_writer(sessions: sessionmaker[Session]) -> Iterator[None]:
    """Hold this process's writer lock of a SQLite database (nothing elsewhere). Re-entrant, and
    given up after the busy timeout: the transaction then waits in SQLite, as it would without it."""
    engine = sessions.kw.get("bind")
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite":
        yield
        return
    with _writers_guard:
        lock = _writers.setdefault(engine, threading.RLock())
    held = lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        yield
    finally:
        if held:
            lock.release()


def execute_write(sessions: sessionmaker[Session], fn: Callable[[Session], T]) -> T:
    """Run `fn` in one write transaction (`write_locked`) and commit; roll back if it raises.

    The one place a service's write commits (like Datasette's `execute_write_fn`): functions that
    take a `Session` never commit, so one request's writes land together or not at all."""
    with write_locked(sessions) as session:
        result = fn(session)
        session.commit()
        return result


def execute_read(sessions: sessionmaker[Session], fn: Callable[[Session], T]) -> T:
    """Run `fn` in a read-only session (the pages' reads go through a service that calls this)."""
    with sessions() as session:
        return fn(session)


def sqlite_file(engine: Engine) -> Path | None:
    """The SQLite database file behind the engine (None for PostgreSQL or an in-memory database)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve()


def file_identity(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def sqlite_file_problem(path: Path, identity: tuple[int, int] | None) -> str | None:
    """Why the file at `path` is no longer the one this process opened (None while it still is).

    A process keeps writing into a deleted SQLite file (its open descriptors still reach the old
    inode) and nobody else ever sees those writes; a replaced file is another database."""
    now = file_identity(path)
    if now is None:
        return f"the SQLite database file {path} was deleted while this process was using it"
    if now != identity:
        return f"the SQLite database file {path} was replaced by another file while this process was using it"
    return None


def affected(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched (0 when the driver cannot tell)."""
    return (result.rowcount or 0) if isinstance(result, CursorResult) else 0


def is_locked(exc: BaseException) -> bool:
    """Whether `exc` is SQLite's "database is locked" (another process held the write lock too long)."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def retry_while_locked(write: Callable[[], T], *, budget: float = WRITE_WAIT_SECONDS) -> T:
    """`write()`, tried again while SQLite says another process holds the write lock, for up to
    `budget` seconds in all (each try already waits the busy timeout); then the error is raised.

    For writes that begin with the write lock (`write_locked`): those wait inside SQLite, so a
    retry is a longer wait, not a spin."""
    deadline = time.monotonic() + budget
    while True:
        try:
            return write()
        except OperationalError as exc:
            if not is_locked(exc) or time.monotonic() >= deadline:
                raise
            log.warning("the database is locked by another process; still waiting (up to %d s in all)", budget)
