"""Health history: every check kept raw for HISTORY_RAW_DAYS, rolled up per hour and per day
(checks, failures, worst status, p50/p95 latency) and kept so for HISTORY_ROLLUP_DAYS.

The sidecar's `HistoryWorker` ticks every ROLLUP_TICK_SECONDS: it recomputes the rollups of the
hours (and days) from one hour before the newest hourly rollup up to now, from the raw records,
and replaces them in one transaction, then prunes what is past either window. A record written a
little after its hour ended is still counted (the hour before the newest is always recomputed).
The current hour is rolled up too, and the pages overlay the last two hours from the raw records
(connhub.health.history_views), so a card never waits on a tick.

The raw records themselves are pruned by housekeeping (`prune_history`), every batch until none
is past the window, so the raw table stays bounded by the window whatever the number of
connections.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from connhub.db import affected, write_locked
from connhub.models import CheckRecord, CheckRollup, Connection, Outcome, RollupPeriod, Status, utcnow
from connhub.runtime import Runtime

log = logging.getLogger("connhub.history")

ROLLUP_TICK_SECONDS = 300
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# The worse a status, the higher: an hour is coloured by its worst.
STATUS_RANK: dict[str, int] = {Status.ONLINE: 0, Status.NEVER_CHECKED: 1, Status.OFFLINE: 2, Status.RECONNECT: 3}
_ADVISORY_LOCK = 0x636F6E6E  # PostgreSQL: one roll-up at a time across sidecars


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def floor_day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def worse(a: str, b: str) -> str:
    return a if STATUS_RANK.get(a, 0) >= STATUS_RANK.get(b, 0) else b


def percentile(ordered: list[int], share: float) -> int | None:
    """The nearest-rank percentile of sorted values (None for none)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Bucket:
    """Checks of one connection in one hour or day, as they are added up."""

    checks: int = 0
    failures: int = 0
    worst: str = Status.ONLINE
    latencies: list[int] = field(default_factory=list)

    def add(self, outcome: str, status_after: str, latency_ms: int | None) -> None:
        self.checks += 1
        if outcome != Outcome.OK:
            self.failures += 1
        self.worst = status_after if self.checks == 1 else worse(self.worst, status_after)
        if latency_ms is not None:
            self.latencies.append(latency_ms)

    def row(self, connection_id: int, period: RollupPeriod, start: datetime) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return dict(connection_id=connection_id, period=period, bucket_start=start, checks=self.checks,
                    failures=self.failures, worst_status=self.worst, p50_ms=percentile(ordered, 0.50),
                    p95_ms=percentile(ordered, 0.95))


def bucket_rows(records: Iterable[Any], *, hours_from: datetime,
                days_from: datetime | None) -> list[dict[str, Any]]:
    """Hourly rollups of the records from `hours_from` and daily ones from `days_from` (None: no daily
    ones), from rows with connection_id, checked_at, outcome, status_after, latency_ms."""
    hours: dict[tuple[int, datetime], Bucket] = {}
    days: dict[tuple[int, datetime], Bucket] = {}
    for record in records:
        if record.checked_at >= hours_from:
            hours.setdefault((record.connection_id, floor_hour(record.checked_at)), Bucket()).add(
                record.outcome, record.status_after, record.latency_ms)
        if days_from is not None and record.checked_at >= days_from:
            days.setdefault((record.connection_id, floor_day(record.checked_at)), Bucket()).add(
                record.outcome, record.status_after, record.latency_ms)
    return ([bucket.row(cid, RollupPeriod.HOUR, start) for (cid, start), bucket in hours.items()]
            + [bucket.row(cid, RollupPeriod.DAY, start) for (cid, start), bucket in days.items()])


class Counted:
    """An iterable that counts what went through it."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        for item in self.items:
            self.count += 1
            yield item


@dataclass(frozen=True)
class RollupStats:
    hours_from: datetime | None  # None: another sidecar was rolling up
    records: int
    rollups: int
    pruned: int


CHUNK_CONNECTIONS = 1000  # connections rolled up per transaction: memory holds their buckets only


def roll_up(sessions: sessionmaker[Session], *, raw_days: int, rollup_days: int,
            now: datetime | None = None, chunk: int = CHUNK_CONNECTIONS) -> RollupStats:
    """Recompute the rollups from one hour before the newest up to now and prune past the windows.

    Connections are taken `chunk` at a time, in id order: each chunk's records are read (streamed)
    and its rollups replaced in one transaction, so memory holds one chunk's buckets however many
    connections there are, and each connection's rollups change all at once."""
    now = now or utcnow()
    with sessions() as session:
        newest = session.scalar(select(func.max(CheckRollup.bucket_start))
                                .where(CheckRollup.period == RollupPeriod.HOUR))
    earliest = floor_hour(now - timedelta(days=raw_days))
    hours_from = max(earliest, newest - HOUR) if newest is not None else earliest
    # The days are recomputed on the first tick of each hour (they need the whole day's records).
    days_from = floor_day(hours_from) if newest is None or newest < floor_hour(now) else None
    records = rollups = 0
    after = 0
    while True:
        with sessions() as session:
            ids = list(session.scalars(select(Connection.id).where(Connection.id > after)
                                       .order_by(Connection.id).limit(chunk)))
        if not ids:
            break
        done = _roll_up_chunk(sessions, ids[0], ids[-1], hours_from, days_from)
        if done is None:
            return RollupStats(None, records, rollups, 0)
        records, rollups, after = records + done[0], rollups + done[1], ids[-1]
    with write_locked(sessions) as session:
        pruned = affected(session.execute(
            delete(CheckRollup).where(CheckRollup.bucket_start < floor_day(now - timedelta(days=rollup_days)))))
        session.commit()
    return RollupStats(hours_from, records, rollups, pruned)


def _roll_up_chunk(sessions: sessionmaker[Session], low: int, high: int, hours_from: datetime,
                   days_from: datetime | None) -> tuple[int, int] | None:
    """Replace the rollups of connections `low`..`high`: (records read, rollups written), or None
    when another sidecar is rolling up (PostgreSQL)."""
    in_chunk = CheckRecord.connection_id.between(low, high)
    with sessions() as session:  # read without the write lock: checks go on being written meanwhile
        found = session.execute(  # streamed: memory holds the buckets, not the records
            select(CheckRecord.connection_id, CheckRecord.checked_at, CheckRecord.outcome,
                   CheckRecord.status_after, CheckRecord.latency_ms)
            .where(in_chunk, CheckRecord.checked_at >= (hours_from if days_from is None else days_from))
            .execution_options(yield_per=5000)
        )
        counted = Counted(found)
        rows = bucket_rows(counted, hours_from=hours_from, days_from=days_from)
    with write_locked(sessions) as session:
        if session.get_bind().dialect.name == "postgresql" and not session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK}):
            return None
        live = set(session.scalars(select(Connection.id).where(Connection.id.between(low, high))))
        rows = [row for row in rows if row["connection_id"] in live]  # deleted meanwhile
        rolled = CheckRollup.connection_id.between(low, high)
        session.execute(delete(CheckRollup).where(rolled, CheckRollup.period == RollupPeriod.HOUR,
                                                  CheckRollup.bucket_start >= hours_from))
        if days_from is not None:
            session.execute(delete(CheckRollup).where(rolled, CheckRollup.period == RollupPeriod.DAY,
                                                      CheckRollup.bucket_start >= days_from))
        if rows:
            session.execute(insert(cast(Table, CheckRollup.__table__)), rows)
        session.commit()
    return counted.count, len(rows)


class HistoryWorker:
    """The sidecar's roll-up (the workers interface of connhub.work: name, every, tick, run_once,
    join). A tick starts the roll-up in a background thread unless one is still running, so the
    health checks never wait on it; a failure is logged and the next tick retries."""

    name = "history"
    every = ROLLUP_TICK_SECONDS

    def __init__(self, rt: Runtime, stop: threading.Event | None = None) -> None:
        self.rt = rt
        self.stop = stop or threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> RollupStats | None:
        if self.stop.is_set():
            return None
        stats = roll_up(self.rt.sessions, raw_days=self.rt.settings.HISTORY_RAW_DAYS,
                        rollup_days=self.rt.settings.HISTORY_ROLLUP_DAYS)
        if stats.rollups or stats.pruned:
            log.debug("history: %d records into %d rollups, %d old rollups pruned", stats.records, stats.rollups,
                      stats.pruned)
        return stats

    def _run(self) -> None:
        try:
            self.run_once()
        except DBAPIError as exc:
            log.warning("history roll-up failed, retried next tick: %s", type(exc.orig or exc).__name__)
        except Exception:  # a bad tick must not kill the sidecar
            log.exception("history roll-up failed")

    def tick(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
