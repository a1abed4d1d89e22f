"""One way to claim queued work: compare-and-swap claims, leases renewed by time, locks that die
with their process.

Health checks, catalog refresh jobs and sync runs are all claimed the same way:

- **Claim** (`claimable`): the candidate row is selected with `FOR UPDATE SKIP LOCKED` on
  PostgreSQL (two workers never wait on, or take, the same row) and inside the write lock on
  SQLite (`db.write_locked`: `BEGIN IMMEDIATE`), then updated in the same transaction. The
  dialect is checked here and nowhere else (`is_postgres`).
- **Lease** (`Heartbeat`): the claim's owner renews its lease from its own thread every few
  seconds, whatever the work is doing (a long photo phase or a slow page), so a live owner never
  looks dead to a clock.
- **Liveness** (`ProcessLock`): an owner also holds a lock that the operating system or the
  database frees when its process dies: a PostgreSQL advisory lock held by the owner's own
  connection, or an OS file lock (`flock`) next to the SQLite file. A row whose lock is free
  was abandoned and is closed at once; the lease is the fallback where no lock can be asked
  (an in-memory database).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Select, text
from sqlalchemy.orm import Session, sessionmaker

from connhub.db import sqlite_file

log = logging.getLogger(__name__)

Q = TypeVar("Q", bound=Select[Any])

LOCK_WAIT_SECONDS = 1.0  # a start waits this long for a lock another process only probes
_LOCK_POLL_SECONDS = 0.05


def _engine_of(bind: Engine | Connection | Session | sessionmaker[Session]) -> Engine:
    if isinstance(bind, sessionmaker):
        bound = bind.kw.get("bind")
        if not isinstance(bound, Engine):
            raise TypeError("the session factory is not bound to an engine")
        return bound
    if isinstance(bind, Session):
        got = bind.get_bind()
        return got if isinstance(got, Engine) else got.engine
    if isinstance(bind, Connection):
        return bind.engine
    return bind


def is_postgres(bind: Engine | Connection | Session | sessionmaker[Session]) -> bool:
    """The one dialect check of the claims: PostgreSQL (row locks, advisory locks) or SQLite."""
    return _engine_of(bind).dialect.name == "postgresql"


def claimable(query: Q, bind: Engine | Connection | Session | sessionmaker[Session]) -> Q:
    """`query` selecting candidate rows, made safe for several claimers.

    PostgreSQL: `FOR UPDATE SKIP LOCKED`. SQLite: unchanged, because the caller runs it inside
    `db.write_locked` (`BEGIN IMMEDIATE`), which lets one writer at a time read-then-update."""
    return query.with_for_update(skip_locked=True) if is_postgres(bind) else query


# --- leases renewed by time -----------------------------------------------------------------------


class Heartbeat:
    """Calls `beat` every `every` seconds from its own thread until stopped.

    A failed beat is logged and the next one tries again: a database busy for a while must not
    end the work, only delay its lease."""

    def __init__(self, name: str, beat: Callable[[], object], every: float) -> None:
        self.name = name
        self._beat = beat
        self._every = max(0.05, every)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{self.name}", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._beat()
            except Exception as exc:  # noqa: BLE001 - the lease is renewed by the next beat
                log.warning("%s: heartbeat failed (%s); retrying in %.0fs", self.name, type(exc).__name__,
                            self._every)

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def beat_every(lease_seconds: float) -> float:
    """How often to renew a lease of this length: a few times within it, at most every 5 s."""
    return max(0.2, min(5.0, lease_seconds / 4))


# --- locks that die with their process -------------------------------------------------------------


class ProcessLock:
    """A lock held for as long as this process holds it, freed by the OS or database when it dies."""

    proves_liveness = True  # holding it proves nobody else is alive holding it

    def acquire(self, wait_seconds: float = 0.0) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def is_free(self) -> bool | None:
        """Whether nobody holds it (probed from anywhere); None when this kind of lock cannot tell."""
        raise NotImplementedError

    def __enter__(self) -> ProcessLock:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _retrying(try_once: Callable[[], bool], wait_seconds: float) -> bool:
    deadline = time.monotonic() + max(0.0, wait_seconds)
    while True:
        if try_once():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_LOCK_POLL_SECONDS)  # polling a lock: the OS gives no signal across processes


class FileLock(ProcessLock):
    """`flock` on a file in the data directory: the kernel frees it when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def _try(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o664)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def acquire(self, wait_seconds: float = 0.0) -> bool:
        if self._fd is not None:
            return True
        return _retrying(self._try, wait_seconds)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def is_free(self) -> bool | None:
        if self._fd is not None:
            return False
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return True
        except PermissionError:  # another OS user's lock file: the lease decides
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)  # closing the descriptor drops the probe's own lock
        return True


class AdvisoryLock(ProcessLock):
    """A PostgreSQL session advisory lock held by a connection of its own: the server frees it when
    that connection ends, which it does when the process dies."""

    def __init__(self, engine: Engine, space: int, key: int) -> None:
        self.engine = engine
        self.space, self.key = space, key
        self._connection: Connection | None = None

    def _try(self) -> bool:
        connection = self.engine.connect()
        try:
            got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:space, :key)"),
                                          {"space": self.space, "key": self.key}).scalar())
            connection.commit()
        except Exception:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def acquire(self, wait_seconds: float = 0.0) -> bool:
        if self._connection is not None:
            return True
        return _retrying(self._try, wait_seconds)

    def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.execute(text("SELECT pg_advisory_unlock(:space, :key)"), {"space": self.space, "key": self.key})
            connection.commit()
        except Exception as exc:  # noqa: BLE001 - dropping the connection frees the lock anyway
            log.warning("releasing an advisory lock failed (%s); dropping its connection", type(exc).__name__)
            connection.invalidate()
        finally:
            connection.close()

    def is_free(self) -> bool | None:
        if self._connection is not None:
            return False
        with self.engine.connect() as connection:  # advisory locks are per database: count this one's
            held = connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND classid = CAST(:space AS oid) AND objid = CAST(:key AS oid) AND objsubid = 2"),
                {"space": self.space, "key": self.key}).scalar()
        return not held


class NoLock(ProcessLock):
    """Where no process lock can be had (an in-memory database): the lease alone decides."""

    proves_liveness = False

    def acquire(self, wait_seconds: float = 0.0) -> bool:
        return True

    def release(self) -> None:
        return None

    def is_free(self) -> bool | None:
        return None


def _space(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def process_lock(bind: Engine | Connection | Session | sessionmaker[Session], name: str, key: int) -> ProcessLock:
    """The lock named `name`/`key` for this database, the same for every process that shares it."""
    engine = _engine_of(bind)
    if is_postgres(engine):
        return AdvisoryLock(engine, _space(name), key & 0x7FFFFFFF)
    database = sqlite_file(engine)
    if database is None:
        return NoLock()
    return FileLock(database.parent / "locks" / f"{name}-{key}.lock")
