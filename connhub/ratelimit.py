"""Rate limits shared by every process and host that uses one database (issue 19).

A provider's limit per token (VK: 3 requests a second) must hold however many processes use the
token at once: the sidecar's sync runs and catalog work, the health check's probe, and the app's
live lists. Each limited key (a token's hash, never the token) has a row in `rate_buckets` holding
a schedule of turns: taking a turn is one atomic upsert,

    slot  = max(next_at, now);  next_at = slot + spacing

(`INSERT … ON CONFLICT DO UPDATE … RETURNING`, which PostgreSQL serialises on the row and SQLite
under its write lock), and the caller waits until its slot. On PostgreSQL `now` is the server's
clock, so hosts whose clocks differ still share one schedule; on SQLite the file is on one host.

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


def bucket_key(service: str, secret: str) -> str:
    """The row's key for one token: the service and a hash of the token (the token never leaves memory)."""
    return f"{service}:{hashlib.sha256(secret.encode()).hexdigest()}"


def _take(session: Session, key: str, spacing: float) -> tuple[float, float]:
    postgres = session.get_bind().dialect.name == "postgresql"
    now = func.extract("epoch", func.clock_timestamp()) if postgres else literal(time.time())
    dialect_insert = postgresql.insert if postgres else sqlite.insert
    greatest = func.greatest if postgres else func.max
    stmt = dialect_insert(RateBucket).values(key=key, slot_at=now, clock_at=now, next_at=now + spacing)
    table = RateBucket.__table__
    slot = greatest(table.c.next_at, stmt.excluded.clock_at)
    upsert = stmt.on_conflict_do_update(index_elements=[table.c.key], set_={
        "slot_at": slot, "clock_at": stmt.excluded.clock_at, "next_at": slot + spacing,
    }).returning(table.c.slot_at, table.c.clock_at)
    slot_at, clock_at = session.execute(upsert).one()
    return float(slot_at), float(clock_at)


def wait_turn(key: str, spacing: float, *, sleep: Callable[[float], None] = time.sleep) -> float:
    """Take the key's next turn in the shared schedule and wait for it; the seconds waited (0 when
    no database is installed or it cannot answer)."""
    global _warned
    installed = _installed
    if installed is None:
        return 0.0
    try:
        slot_at, clock_at = execute_write(installed[1], lambda session: _take(session, key, spacing))
    except DBAPIError as exc:
        if not _warned:
            _warned = True
            log.warning("shared rate limit unavailable (%s); limiting in this process only", type(exc).__name__)
        return 0.0
    wait = max(0.0, slot_at - clock_at)
    if wait > 0:
        sleep(wait)
    return wait
