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
which are handed out in order. A process with many calls in flight thus writes a few transactions a
second instead of one per call, and holds the SQLite write lock far less; the schedule, shared by
every process, is the same one.

**Turns can be reserved ahead** (`reserve`) by a process that knows which calls it is about to make:
the checker takes the turns of all the checks it has just claimed in one transaction, and each
check then uses its reserved turn (`wait_turn` finds it) instead of queueing for a batch of its own.
A reserved turn may be used up to `RESERVED_HOLD` seconds after its slot, so it blocks the key's
schedule for its spacing plus that hold: a turn used late still leaves a whole spacing before the
next one. A turn not used in time is dropped, and its call takes a fresh turn.

The composition root (`connhub.runtime.Runtime`) installs the database with `install`; a process
without one (the sandbox, a test's bare client) has only its own in-process limiter. A database
that cannot answer never stops a provider call: the turn is then taken locally alone (logged once).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, TextClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from connhub.db import execute_write

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
            with _reserved_lock:
                _reserved.clear()


def bucket_key(service: str, secret: str) -> str:
    """The row's key for one token: the service and a hash of the token (the token never leaves memory)."""
    return f"{service}:{hashlib.sha256(secret.encode()).hexdigest()}"


MAX_BATCH = 256  # turns taken in one transaction at most


def _take(session: Session, spans: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Reserve `spans[key]` seconds of each key's schedule: {key: (first slot, clock)}.

    Keys are locked in sorted order, so two processes' batches never deadlock."""
    postgres = session.get_bind().dialect.name == "postgresql"
    keys = sorted(spans)
    granted: dict[str, tuple[float, float]] = {}
    start = 0
    for size in _chunk_sizes(len(keys)):
        chunk = keys[start:start + size]
        start += size
        params: dict[str, object] = {f"k{i}": key for i, key in enumerate(chunk)}
        params.update({f"s{i}": spans[key] for i, key in enumerate(chunk)})
        if not postgres:
            params["now"] = time.time()
        rows = session.execute(_upsert(postgres, size), params)
        granted.update((key, (float(slot_at), float(clock_at))) for key, slot_at, clock_at in rows)
    return granted


_LARGEST_UPSERT = 16


def _chunk_sizes(count: int) -> list[int]:
    """`count` keys as upserts of 16, 8, 4, 2 and 1 rows: five statements in all, which the
    driver's statement cache keeps (a statement per batch size filled it with large ones)."""
    sizes = [_LARGEST_UPSERT] * (count // _LARGEST_UPSERT)
    rest = count % _LARGEST_UPSERT
    size = _LARGEST_UPSERT // 2
    while rest:
        if rest >= size:
            sizes.append(size)
            rest -= size
        size //= 2
    return sizes


@functools.lru_cache(maxsize=16)
def _upsert(postgres: bool, rows: int) -> TextClause:
    """The upsert of `rows` keys as SQL text, one per dialect and size: SQLAlchemy cannot cache the
    compiled form of a dialect's ON CONFLICT, and compiling it was a tenth of a health check's CPU.

        slot = max(next_at, now);  next_at = slot + span

    (SET reads the row as it was before the update, in both dialects.) On PostgreSQL `now` is the
    server's clock."""
    now = "EXTRACT(EPOCH FROM statement_timestamp())::float8" if postgres else ":now"
    greatest = "greatest" if postgres else "max"
    values = ", ".join(f"(:k{i}, {now}, {now}, {now} + :s{i})" for i in range(rows))
    slot = f"{greatest}(rate_buckets.next_at, excluded.clock_at)"
    return text(
        f'INSERT INTO rate_buckets ("key", slot_at, clock_at, next_at) VALUES {values} '
        f'ON CONFLICT ("key") DO UPDATE SET slot_at = {slot}, clock_at = excluded.clock_at, '
        f"next_at = {slot} + (excluded.next_at - excluded.clock_at) "
        f'RETURNING "key", slot_at, clock_at'
    )


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

RESERVED_HOLD = 0.5  # seconds after its slot that a reserved turn may still be used

# Turns reserved and not used yet: key -> [(slot, usable until)], in time.monotonic() seconds.
_reserved: dict[str, list[tuple[float, float]]] = {}
_reserved_lock = threading.Lock()


def reserve(turns: Sequence[tuple[str, float]]) -> int:
    """Take a turn for each (key, spacing) of `turns` (a key listed n times gets n turns) in one
    transaction, for calls this process is about to make; `wait_turn` then uses them. The number of
    turns reserved (0 when no database is installed or it cannot answer: the calls then take their
    own turns)."""
    installed = _installed
    if installed is None or not turns:
        return 0
    spans: dict[str, float] = {}
    for key, spacing in turns:
        spans[key] = spans.get(key, 0.0) + spacing + RESERVED_HOLD
    try:
        granted = execute_write(installed[1], lambda session: _take(session, spans))
    except DBAPIError:
        return 0
    now = time.monotonic()
    with _reserved_lock:
        for key in [key for key, held in _reserved.items() if held[-1][1] < now]:
            del _reserved[key]  # reserved for calls that were never made (the connection vanished, say)
        offsets: dict[str, float] = {}
        for key, spacing in turns:
            slot_at, clock_at = granted[key]
            offset = offsets.get(key, 0.0)
            offsets[key] = offset + spacing + RESERVED_HOLD
            slot = now + max(0.0, slot_at + offset - clock_at)
            _reserved.setdefault(key, []).append((slot, slot + RESERVED_HOLD))
    return len(turns)


def _reserved_turn(key: str) -> float | None:
    """The seconds until the key's next reserved turn, which is now used; None when it has none
    that is still usable."""
    with _reserved_lock:
        turns = _reserved.get(key)
        if not turns:
            return None
        now = time.monotonic()
        while turns and turns[0][1] < now:
            turns.pop(0)  # too late to use
        slot = turns.pop(0)[0] if turns else None
        if not turns:
            del _reserved[key]
    return None if slot is None else max(0.0, slot - now)


def wait_turn(key: str, spacing: float, *, sleep: Callable[[float], None] = time.sleep) -> float:
    """Take the key's next turn in the shared schedule (a reserved one if there is one) and wait
    for it; the seconds waited (0 when no database is installed or it cannot answer)."""
    installed = _installed
    if installed is None:
        return 0.0
    wait = _reserved_turn(key)
    if wait is None:
        with _lock:
            batcher = _batchers.setdefault(id(installed[0]), _Batcher())
        wait = batcher.take(installed[1], key, spacing)
    if wait > 0:
        sleep(wait)
    return wait
