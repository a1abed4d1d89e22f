"""The database, read at scrape time: the gauges, and counters derived from what was recorded since
the exporter started (issue 21).

Connections by provider and status, the due checks and the lag of the oldest, queued and running
catalog refreshes and sync runs, and, as counters since this exporter started, the check records by
provider, outcome and source, the finished sync runs by outcome (with their durations) and the
finished catalog refreshes (duration, products read). These describe the whole deployment: with
several sidecars, each exports the same numbers (take `max`, not `sum`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connhub.metrics import RUN_BUCKETS, SIZE_BUCKETS, Histogram

if TYPE_CHECKING:
    from connhub.runtime import Runtime


@dataclass
class _Watermarks:
    """How far the counters derived from the database have read (since the exporter started)."""

    check_id: int | None = None
    runs: tuple[datetime | None, set[int]] = (None, set())
    jobs: tuple[datetime | None, set[int]] = (None, set())
    checks: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    run_outcomes: Counter[str] = field(default_factory=Counter)
    run_durations: dict[str, Histogram] = field(default_factory=dict)
    refresh_outcomes: Counter[str] = field(default_factory=Counter)
    refresh_durations: Histogram = field(default_factory=lambda: Histogram(RUN_BUCKETS))
    refresh_sizes: Histogram = field(default_factory=lambda: Histogram(SIZE_BUCKETS))


@dataclass(frozen=True)
class DatabaseFacts:
    connections: dict[tuple[str, str], int]
    due_checks: int
    due_lag_seconds: float
    catalog_jobs: dict[str, int]
    sync_runs: dict[str, int]
    heartbeats: int


class DatabaseReader:
    """Reads the gauges, and advances the database-derived counters, at each scrape."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.lock = threading.Lock()
        self.marks = _Watermarks()
        self.started_at: datetime | None = None

    def read(self) -> DatabaseFacts:
        from sqlalchemy import case, func, or_, select

        from connhub.models import (
            CatalogRefreshJob,
            CheckerHeartbeat,
            CheckRecord,
            Connection,
            RefreshState,
            SyncRun,
            SyncRunState,
            utcnow,
        )

        now = utcnow()
        with self.lock, self.rt.sessions() as session:
            if self.started_at is None:  # counters start at zero when the exporter starts
                self.started_at = now
                self.marks.check_id = session.scalar(select(func.max(CheckRecord.id))) or 0
                self.marks.runs = (now, set())
                self.marks.jobs = (now, set())
            due = (Connection.next_check_at <= now) & or_(Connection.lease_expires_at.is_(None),
                                                          Connection.lease_expires_at < now)
            connections: dict[tuple[str, str], int] = {}
            due_checks, oldest = 0, None
            for row in session.execute(select(
                    Connection.provider, Connection.status, func.count().label("n"),
                    func.sum(case((due, 1), else_=0)).label("due"),
                    func.min(case((due, Connection.next_check_at), else_=None)).label("oldest"))
                    .group_by(Connection.provider, Connection.status)):
                connections[(row.provider, row.status)] = int(row.n)
                due_checks += int(row.due or 0)
                if row.oldest is not None:
                    when = _aware(row.oldest)
                    oldest = when if oldest is None or when < oldest else oldest
            catalog = {state: n for state, n in session.execute(
                select(CatalogRefreshJob.state, func.count()).where(
                    CatalogRefreshJob.state.in_([RefreshState.QUEUED, RefreshState.RUNNING]))
                .group_by(CatalogRefreshJob.state))}
            active_runs = {state: n for state, n in session.execute(
                select(SyncRun.state, func.count()).where(
                    SyncRun.state.in_([SyncRunState.REQUESTED, SyncRunState.RUNNING]))
                .group_by(SyncRun.state))}
            heartbeats = session.scalar(select(func.count()).select_from(CheckerHeartbeat)) or 0

            # Counters: what was recorded since the last scrape.
            for provider, outcome, source, n, top in session.execute(
                    select(Connection.provider, CheckRecord.outcome, CheckRecord.source, func.count(),
                           func.max(CheckRecord.id))
                    .join(Connection, Connection.id == CheckRecord.connection_id)
                    .where(CheckRecord.id > (self.marks.check_id or 0))
                    .group_by(Connection.provider, CheckRecord.outcome, CheckRecord.source)):
                self.marks.checks[(provider, outcome, source)] += int(n)
                self.marks.check_id = max(self.marks.check_id or 0, int(top))
            since, seen = self.marks.runs
            finished = session.execute(
                select(SyncRun.id, SyncRun.state, SyncRun.finished_at, SyncRun.duration_ms)
                .where(SyncRun.finished_at >= since, SyncRun.dry_run.is_(False),
                       SyncRun.state.in_([SyncRunState.FINISHED, SyncRunState.STOPPED, SyncRunState.FAILED]))
            ).all()
            self.marks.runs = self._advance(since, seen, finished, self._count_run)
            since, seen = self.marks.jobs
            jobs = session.execute(
                select(CatalogRefreshJob.id, CatalogRefreshJob.state, CatalogRefreshJob.finished_at,
                       CatalogRefreshJob.duration_ms, CatalogRefreshJob.items_read)
                .where(CatalogRefreshJob.finished_at >= since)
            ).all()
            self.marks.jobs = self._advance(since, seen, jobs, self._count_job)
            session.rollback()
        lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        return DatabaseFacts(connections=connections, due_checks=due_checks, due_lag_seconds=lag,
                             catalog_jobs=catalog, sync_runs=active_runs, heartbeats=int(heartbeats))

    @staticmethod
    def _advance(since: datetime | None, seen: set[int], rows: Iterable[Any],
                 count: Any) -> tuple[datetime | None, set[int]]:
        """Count the rows not counted yet; the new watermark is the latest finish, with the ids at it."""
        latest, at_latest = since, set(seen)
        for row in rows:
            if row.id in seen:
                continue
            count(row)
            when = _aware(row.finished_at)
            if latest is None or when > latest:
                latest, at_latest = when, {row.id}
            elif when == latest:
                at_latest.add(row.id)
        return latest, at_latest

    def _count_run(self, row: Any) -> None:
        self.marks.run_outcomes[row.state] += 1
        if row.duration_ms is not None:
            self.marks.run_durations.setdefault(row.state, Histogram(RUN_BUCKETS)).observe(row.duration_ms / 1000)

    def _count_job(self, row: Any) -> None:
        self.marks.refresh_outcomes[row.state] += 1
        if row.duration_ms is not None:
            self.marks.refresh_durations.observe(row.duration_ms / 1000)
        if row.items_read is not None:
            self.marks.refresh_sizes.observe(row.items_read)


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
