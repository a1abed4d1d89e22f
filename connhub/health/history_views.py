"""What the pages ask of the history: a card's 24 hours and 30-day availability, a service page's
latency by the hour, the sync's last runs. Each is one call with a fixed number of SQL
statements, whatever the number of connections (never a query per connection or per hour).

Hours come from the hourly rollups (connhub.health.history); the last two hours are recomputed
from the raw check records on every call, so a check shows on its card before the sidecar's next
roll-up. Availability is the share of checks that succeeded, over the daily rollups of 30 days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from connhub.health.history import DAY, HOUR, bucket_rows, floor_day, floor_hour
from connhub.models import CheckRecord, CheckRollup, Connection, RollupPeriod, Status, SyncRun, utcnow

BAR_HOURS = 24
AVAILABILITY_DAYS = 30
LATENCY_HOURS = 7 * 24
LIVE_HOURS = 2  # recomputed from raw records on each call
RUN_BAR = 30


@dataclass(frozen=True)
class HourSegment:
    start: datetime
    checks: int = 0
    failures: int = 0
    worst: Status | None = None  # None: no check that hour
    p50_ms: int | None = None
    p95_ms: int | None = None


@dataclass(frozen=True)
class CardHistory:
    hours: tuple[HourSegment, ...]  # oldest first; the last is the current hour
    availability: float | None  # share of successful checks over AVAILABILITY_DAYS; None: no checks
    checks: int  # checks over AVAILABILITY_DAYS


def _segment(row: Mapping[Any, Any]) -> HourSegment:
    return HourSegment(start=row["bucket_start"], checks=row["checks"], failures=row["failures"],
                       worst=Status(row["worst_status"]), p50_ms=row["p50_ms"], p95_ms=row["p95_ms"])


def histories(session: Session, scope: ColumnElement[bool], *, hours: int = BAR_HOURS,
              now: datetime | None = None) -> dict[int, CardHistory]:
    """The history of every connection matching `scope` (a condition on Connection): three statements."""
    now = now or utcnow()
    current = floor_hour(now)
    first = current - (hours - 1) * HOUR
    live_from = current - (LIVE_HOURS - 1) * HOUR
    found: dict[int, dict[datetime, HourSegment]] = defaultdict(dict)
    # The connections first, then their rows by the primary key / (connection_id, checked_at) index.
    ids = select(Connection.id).where(scope).scalar_subquery()
    rolled = session.execute(
        select(CheckRollup.connection_id, CheckRollup.bucket_start, CheckRollup.checks, CheckRollup.failures,
               CheckRollup.worst_status, CheckRollup.p50_ms, CheckRollup.p95_ms)
        .where(CheckRollup.connection_id.in_(ids), CheckRollup.period == RollupPeriod.HOUR,
               CheckRollup.bucket_start >= first, CheckRollup.bucket_start < live_from)
    ).all()
    for row in rolled:
        found[row.connection_id][row.bucket_start] = _segment(row._mapping)
    raw = session.execute(
        select(CheckRecord.connection_id, CheckRecord.checked_at, CheckRecord.outcome, CheckRecord.status_after,
               CheckRecord.latency_ms)
        .where(CheckRecord.connection_id.in_(ids), CheckRecord.checked_at >= live_from)
    ).all()
    for live in bucket_rows(raw, hours_from=live_from, days_from=None):
        found[live["connection_id"]][live["bucket_start"]] = _segment(live)
    days = session.execute(
        select(CheckRollup.connection_id, func.sum(CheckRollup.checks), func.sum(CheckRollup.failures))
        .where(CheckRollup.connection_id.in_(ids), CheckRollup.period == RollupPeriod.DAY,
               CheckRollup.bucket_start >= floor_day(now) - (AVAILABILITY_DAYS - 1) * DAY)
        .group_by(CheckRollup.connection_id)
    ).all()
    totals = {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in days}
    result: dict[int, CardHistory] = {}
    for connection_id in set(found) | set(totals):
        by_hour = found.get(connection_id, {})
        checks, failures = totals.get(connection_id, (0, 0))
        result[connection_id] = CardHistory(
            hours=tuple(by_hour.get(first + n * HOUR) or HourSegment(first + n * HOUR) for n in range(hours)),
            availability=(checks - failures) / checks if checks else None, checks=checks)
    return result


def empty_history(*, hours: int = BAR_HOURS, now: datetime | None = None) -> CardHistory:
    first = floor_hour(now or utcnow()) - (hours - 1) * HOUR
    return CardHistory(tuple(HourSegment(first + n * HOUR) for n in range(hours)), None, 0)


def card_histories(session: Session, user_id: int, *, now: datetime | None = None) -> dict[int, CardHistory]:
    """The dashboard's cards: each of the user's connections' last 24 hours and 30-day availability."""
    return histories(session, Connection.user_id == user_id, now=now)


@dataclass(frozen=True)
class ServiceHistory:
    day: CardHistory  # the 24-hour bar and availability
    week: tuple[HourSegment, ...]  # LATENCY_HOURS hours, oldest first: the latency chart


def service_history(session: Session, user_id: int, connection_id: int, *,
                    now: datetime | None = None) -> ServiceHistory:
    """A service page's history of one of the user's connections: the bar and a week's latency."""
    scope = (Connection.user_id == user_id) & (Connection.id == connection_id)
    week = histories(session, scope, hours=LATENCY_HOURS, now=now).get(connection_id)
    if week is None:
        return ServiceHistory(empty_history(now=now), empty_history(hours=LATENCY_HOURS, now=now).hours)
    return ServiceHistory(CardHistory(week.hours[-BAR_HOURS:], week.availability, week.checks), week.hours)


@dataclass(frozen=True)
class RunPoint:
    id: int
    state: str  # a SyncRunState
    dry_run: bool
    started_at: datetime
    duration_ms: int | None
    done: int
    failed: int
    stop_reason: str


def run_history(session: Session, user_id: int, *, limit: int = RUN_BAR) -> list[RunPoint]:
    """The user's last finished runs, oldest first (one statement): the runs bar and durations."""
    rows = session.execute(
        select(SyncRun.id, SyncRun.state, SyncRun.dry_run, SyncRun.started_at, SyncRun.requested_at,
               SyncRun.duration_ms, SyncRun.done, SyncRun.failed, SyncRun.stop_reason)
        .where(SyncRun.user_id == user_id, SyncRun.finished_at.is_not(None))
        .order_by(SyncRun.id.desc()).limit(limit)
    ).all()
    return [RunPoint(row.id, row.state, row.dry_run, row.started_at or row.requested_at, row.duration_ms, row.done,
                     row.failed, row.stop_reason) for row in reversed(rows)]
