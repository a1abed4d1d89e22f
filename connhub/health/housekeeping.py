"""The checker's heartbeat (shown on the dashboard) and the pruning of old history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from connhub.db import affected, write_locked
from connhub.models import CheckerHeartbeat, CheckRecord, utcnow
from connhub.runtime import Runtime

HISTORY_RETENTION = timedelta(days=7)  # the default of HISTORY_RAW_DAYS


def beat(rt: Runtime, *, checker_id: str, started_at: datetime, last_cycle: dict[str, Any] | None = None) -> None:
    now = utcnow()
    with write_locked(rt.sessions) as session:
        row = session.get(CheckerHeartbeat, checker_id)
        if row is None:
            row = CheckerHeartbeat(checker_id=checker_id, started_at=started_at, last_beat_at=now,
                                   interval_seconds=rt.settings.HEALTH_CHECK_INTERVAL_SECONDS,
                                   last_cycle=last_cycle or {})
            session.add(row)
        else:
            row.last_beat_at = now
            if last_cycle is not None:
                row.last_cycle = last_cycle
        session.commit()


@dataclass(frozen=True)
class CheckerStatus:
    last_beat_at: datetime | None
    stale: bool


def checker_status(session: Session, *, interval_seconds: int, now: datetime | None = None) -> CheckerStatus:
    now = now or utcnow()
    last = session.scalar(select(func.max(CheckerHeartbeat.last_beat_at)))
    stale = last is None or now - last > timedelta(seconds=2 * interval_seconds)
    return CheckerStatus(last_beat_at=last, stale=stale)


def prune_history(rt: Runtime, *, now: datetime | None = None, batch: int = 5000) -> int:
    """Drop every check record past HISTORY_RAW_DAYS (a bounded batch per transaction, until none is
    left: the raw table stays bounded whatever the number of connections) and long-silent heartbeats.
    Their hours and days live on as rollups (connhub.health.history)."""
    now = now or utcnow()
    cutoff = now - timedelta(days=rt.settings.HISTORY_RAW_DAYS)
    total = 0
    while True:
        with rt.sessions() as session:
            old = select(CheckRecord.id).where(CheckRecord.checked_at < cutoff).limit(batch)
            removed = affected(session.execute(
                delete(CheckRecord).where(CheckRecord.id.in_(old.scalar_subquery()))
                .execution_options(synchronize_session=False)
            ))
            session.commit()
        total += removed
        if removed < batch:
            break
    with rt.sessions() as session:
        session.execute(delete(CheckerHeartbeat).where(CheckerHeartbeat.last_beat_at < now - timedelta(days=7)))
        session.commit()
    return total
