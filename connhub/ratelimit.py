"""Rate limits shared by every process and host that uses one database (issue 19).

A provider's limit per token (VK: 3 requests a second) must hold however many processes use the
token at once: the sidecar's sync runs and catalog work, the health check's probe, and the app's
live lists. Each limited key (a token's hash, never the token) has a row in `rate_buckets` holding
a schedule of turns: taking a turn is one atomic upsert,

    slot  = max(next_at, now);  next_at = slot + spacing

(`INSERT … ON CONFLICT DO UPDATE … RETURNING`, which PostgreSQL serialises on the row and SQLite
under its write lock), and the caller waits until its slot. On PostgreSQL `now` is the server's
clock, so hosts whose clocks differ still share one schedule; on SQLite the file is on one host.

**Turns are taken in batches** (group commit): the threads of one process that ask for turns while
another thread's transaction is in flight queue in memory, and the next transaction takes all their
turns at once, one row per key, a key asked n times reserving n turns (`next_at = slot + n·spacing`)
which are handed out in order. A checker with 48 checks in flight thus writes a few transactions a
second instead of one per check, and holds the SQLite write lock far less; the schedule, shared by
every process, is the same one.

The composition root (`connhub.runtime.Runtime`) installs the database with `install`; a process
without one (the sandbox, a test's bare client) has only its own in-process limiter. A database
that cannot answer never stops a provider call: the turn is then taken locally alone (logged once).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from connhub.db import execute_write
from connhub.models import RateBucket

log = logging.getLogger(__name__)

_installed: tuple[Engine, sessionmaker[Session]] | None = None
_lock = threading.Lock()
_warned = False


def install(engine: Engine, sessions: sessionmaker[Session]) -> None:
    """Share limits through this database from now on (the composition root calls this)."""
    global _installed
    with _lock:
        _installed = (engine, sessions)


def uninstall(engine: Engine) -> None:
    """Stop sharing through `engine` (its runtime closed)."""
    global _installed
    with _lock:
        if _installed is not None and _installed[0] is engine:
            _installed = None
            _batchers.pop(id(engine), None)


def bucket_key(service: str, secret: str) -> str:
    """The row's key for one token: the service and a hash of the token (the token never leaves memory)."""
    return f"{service}:{hashlib.sha256(secret.encode()).hexdigest()}"


MAX_BATCH = 256  # turns taken in one transaction at most


def _take(session: Session, spans: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Reserve `spans[key]` seconds of each key's schedule: {key: (first slot, clock)}.

    Keys are locked in sorted order, so two processes' batches never deadlock."""
    postgres = session.get_bind().dialect.name == "postgresql"
    now = func.extract("epoch", func.statement_timestamp()) if postgres else literal(time.time())
    dialect_insert = postgresql.insert if postgres else sqlite.insert
    greatest = func.greatest if postgres else func.max
    stmt = dialect_insert(RateBucket).values([
        {"key": key, "slot_at": now, "clock_at": now, "next_at": now + spans[key]} for key in sorted(spans)])
    table = RateBucket.__table__
    slot = greatest(table.c.next_at, stmt.excluded.clock_at)
    span = stmt.excluded.next_at - stmt.excluded.clock_at
    upsert = stmt.on_conflict_do_update(index_elements=[table.c.key], set_={
        "slot_at": slot, "clock_at": stmt.excluded.clock_at, "next_at": slot + span,
    }).returning(table.c.key, table.c.slot_at, table.c.clock_at)
    return {key: (float(slot_at), float(clock_at)) for key, slot_at, clock_at in session.execute(upsert)}


@dataclass
class _Ask:
    key: str
    spacing: float
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # this asker writes the next batch
    granted: bool = False
    wait: float = 0.0


class _Batcher:
    """Group commit of turns. Whoever asks while no batch is being written writes one batch: its own
    turn and every turn asked before it. Turns asked meanwhile queue; when the batch is written, the
    oldest of them writes the next batch (with all the others), so nobody waits for more than one
    transaction that is not theirs, and nobody writes more than their own."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._pending: list[_Ask] = []
        self._writing = False

    def take(self, sessions: sessionmaker[Session], key: str, spacing: float) -> float:
        ask = _Ask(key, spacing)
        with self._guard:
            self._pending.append(ask)
            if not self._writing:
                self._writing = ask.lead = True
        while not ask.granted:
            if ask.lead:
                ask.lead = False
                self._write_batch(sessions)
            else:
                ask.wake.wait()
                ask.wake.clear()  # the state is set before each wake and read again after this
        return ask.wait

    def _write_batch(self, sessions: sessionmaker[Session]) -> None:
        with self._guard:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        try:
            _grant(sessions, batch)
        finally:  # whatever happened, every asker of the batch is answered and the lead handed on
            with self._guard:
                for ask in batch:
                    ask.granted = True
                following = self._pending[0] if self._pending else None
                if following is None:
                    self._writing = False
                else:
                    following.lead = True
            for ask in batch:
                ask.wake.set()
            if following is not None:
                following.wake.set()


def _grant(sessions: sessionmaker[Session], batch: list[_Ask]) -> None:
    """One transaction for the batch; each ask's wait set (0 when the database cannot answer)."""
    global _warned
    spans: dict[str, float] = {}
    for ask in batch:
        spans[ask.key] = spans.get(ask.key, 0.0) + ask.spacing
    try:
        granted = execute_write(sessions, lambda session: _take(session, spans))
    except DBAPIError as exc:
        if not _warned:
            _warned = True
            log.warning("shared rate limit unavailable (%s); limiting in this process only", type(exc).__name__)
        return
    offsets: dict[str, float] = {}
    for ask in batch:  # a key's turns in the order they were asked
        slot_at, clock_at = granted[ask.key]
        offset = offsets.get(ask.key, 0.0)
        offsets[ask.key] = offset + ask.spacing
        ask.wait = max(0.0, slot_at + offset - clock_at)


_batchers: dict[int, _Batcher] = {}


def wait_turn(key: str, spacing: float, *, sleep: Callable[[float], None] = time.sleep) -> float:
    """Take the key's next turn in the shared schedule and wait for it; the seconds waited (0 when
    no database is installed or it cannot answer)."""
    installed = _installed
    if installed is None:
        return 0.0
    with _lock:
        batcher = _batchers.setdefault(id(installed[0]), _Batcher())
    wait = batcher.take(installed[1], key, spacing)
    if wait > 0:
        sleep(wait)
    return wait
