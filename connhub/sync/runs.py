"""Sync run records: requested on the page or started by the script, written while they run.

A run row is the only channel between the process doing a sync and the people watching it: the
page records a request (`request_run`), a background process claims it (`claim_requested`) or
the script starts one directly (`start_run`), and the engine writes its phase, progress and
counts as it goes (`RunRecorder`). A run whose process died is closed by the next claim
(`close_abandoned`) once its heartbeat is older than `STALE_AFTER`.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from connhub.db import write_locked
from connhub.journal import hooks as journal_hooks
from connhub.models import SyncRun, SyncRunState, utcnow

STALE_AFTER = timedelta(minutes=5)  # a running run without a heartbeat this long is dead
FAILURES_KEPT = 500  # the failure list keeps this many (the count keeps them all)
ACTIVE = (SyncRunState.REQUESTED, SyncRunState.RUNNING)


class Trigger:
    CRON = "cron"  # run/sync.sh from cron or by hand
    PAGE = "page"  # «Синхронизировать сейчас»
    CLI = "cli"  # python -m connhub.sync


COUNTS = ("added", "changed", "hidden", "deleted", "unchanged", "failed", "skipped")


@dataclass(frozen=True)
class RunView:
    id: int
    user_id: int
    trigger: str
    triggered_by: str
    dry_run: bool
    state: str
    phase: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    total: int
    done: int
    counts: dict[str, int]
    requests: int
    failures: list[dict[str, str]]
    plan: dict[str, Any]
    stop_reason: str

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def view(row: SyncRun) -> RunView:
    return RunView(
        id=row.id, user_id=row.user_id, trigger=row.trigger, triggered_by=row.triggered_by, dry_run=row.dry_run,
        state=row.state, phase=row.phase, requested_at=row.requested_at, started_at=row.started_at,
        finished_at=row.finished_at, duration_ms=row.duration_ms, total=row.total, done=row.done,
        counts={name: int(getattr(row, name) or 0) for name in COUNTS}, requests=row.requests,
        failures=list(row.failures or []), plan=dict(row.plan or {}), stop_reason=row.stop_reason,
    )


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- reading ------------------------------------------------------------------------------------


def recent_runs(session: Session, user_id: int, limit: int = 10) -> list[RunView]:
    rows = session.scalars(select(SyncRun).where(SyncRun.user_id == user_id)
                           .order_by(SyncRun.id.desc()).limit(limit)).all()
    return [view(row) for row in rows]


def active_run(session: Session, user_id: int) -> RunView | None:
    """The user's requested or running run, if any (the newest)."""
    row = session.scalars(select(SyncRun).where(SyncRun.user_id == user_id, SyncRun.state.in_(ACTIVE))
                          .order_by(SyncRun.id.desc()).limit(1)).first()
    return view(row) if row is not None else None


def get_run(session: Session, user_id: int, run_id: int) -> RunView | None:
    row = session.get(SyncRun, run_id)
    return view(row) if row is not None and row.user_id == user_id else None


# --- starting -----------------------------------------------------------------------------------


class RunInProgress(Exception):
    """Another run of this user is requested or running."""

    def __init__(self, run: RunView) -> None:
        super().__init__(f"sync run {run.id} is {run.state}")
        self.run = run


def close_abandoned(session: Session, user_id: int, now: datetime) -> None:
    """Close the user's running runs whose process stopped beating (killed, machine restarted)."""
    session.execute(update(SyncRun).where(
        SyncRun.user_id == user_id, SyncRun.state == SyncRunState.RUNNING,
        SyncRun.heartbeat_at < now - STALE_AFTER,
    ).values(state=SyncRunState.FAILED, finished_at=now,
             stop_reason="Процесс синхронизации прервался; следующий запуск продолжит с того же места"))


def request_run(sessions: sessionmaker[Session], user_id: int, *, triggered_by: str,
                dry_run: bool = False) -> RunView:
    """«Синхронизировать сейчас» (or the preview): record a request; RunInProgress when one is active."""
    now = utcnow()
    with write_locked(sessions) as session:
        close_abandoned(session, user_id, now)
        existing = session.scalars(select(SyncRun).where(SyncRun.user_id == user_id, SyncRun.state.in_(ACTIVE))
                                   .limit(1)).first()
        if existing is not None:
            raise RunInProgress(view(existing))
        row = SyncRun(user_id=user_id, trigger=Trigger.PAGE, triggered_by=triggered_by[:320], dry_run=dry_run,
                      state=SyncRunState.REQUESTED, requested_at=now, phase="Ожидает запуска")
        session.add(row)
        session.commit()
        return view(row)


def start_run(sessions: sessionmaker[Session], user_id: int, *, trigger: str, triggered_by: str,
              dry_run: bool = False, run_id: int | None = None) -> RunView:
    """Mark a run as running in this process: the requested one (`run_id`), or a new one.

    RunInProgress when another run of the user is active (the database half of the one-run lock)."""
    now = utcnow()
    with write_locked(sessions) as session:
        close_abandoned(session, user_id, now)
        active = session.scalars(select(SyncRun).where(SyncRun.user_id == user_id, SyncRun.state.in_(ACTIVE))
                                 .order_by(SyncRun.id)).all()
        mine = None
        for row in active:
            if run_id is not None and row.id == run_id and row.state == SyncRunState.REQUESTED:
                mine = row
            else:
                raise RunInProgress(view(row))
        if run_id is not None and mine is None:
            raise LookupError(f"sync run {run_id} is not waiting to start")
        if mine is None:
            mine = SyncRun(user_id=user_id, trigger=trigger, triggered_by=triggered_by[:320], dry_run=dry_run,
                           requested_at=now)
            session.add(mine)
        mine.state = SyncRunState.RUNNING
        mine.started_at = now
        mine.heartbeat_at = now
        mine.worker = worker_id()
        mine.phase = "Запуск"
        session.commit()
        return view(mine)


def claim_requested(sessions: sessionmaker[Session]) -> RunView | None:
    """The oldest requested run of any user, claimed for this process (the sidecar's pick-up)."""
    with write_locked(sessions) as session:
        query = select(SyncRun).where(SyncRun.state == SyncRunState.REQUESTED).order_by(SyncRun.id).limit(1)
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = session.scalars(query).first()
        if row is None:
            return None
        running = session.scalar(select(SyncRun.id).where(SyncRun.user_id == row.user_id,
                                                          SyncRun.state == SyncRunState.RUNNING).limit(1))
        if running is not None:
            return None  # the user's current run finishes first
        now = utcnow()
        row.state = SyncRunState.RUNNING
        row.started_at = now
        row.heartbeat_at = now
        row.worker = worker_id()
        row.phase = "Запуск"
        session.commit()
        return view(row)


# --- writing while running ----------------------------------------------------------------------


@dataclass
class RunRecorder:
    """What one run has done so far, written to its row at each phase and batch."""

    sessions: sessionmaker[Session]
    run_id: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    failures: list[dict[str, str]] = field(default_factory=list)
    total: int = 0
    done: int = 0
    phase: str = ""
    requests: int = 0
    plan: dict[str, Any] = field(default_factory=dict)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def fail(self, product_id: str, name: str, reason: str) -> None:
        self.counts["failed"] += 1
        if len(self.failures) < FAILURES_KEPT:
            self.failures.append({"product_id": product_id, "name": name, "reason": reason[:300]})

    def save(self, **extra: Any) -> None:
        with write_locked(self.sessions) as session:
            row = session.get(SyncRun, self.run_id)
            if row is None:
                return
            for name, value in self.counts.items():
                setattr(row, name, value)
            row.failures = list(self.failures)
            row.total, row.done, row.phase, row.requests = self.total, self.done, self.phase[:200], self.requests
            row.plan = dict(self.plan)
            row.heartbeat_at = utcnow()
            for key, value in extra.items():
                setattr(row, key, value)
            if "finished_at" in extra:
                journal_hooks.run_ended(session, row)  # lane notify: the journal and its notices
            session.commit()

    def finish(self, state: str, stop_reason: str = "") -> RunView:
        now = utcnow()
        with self.sessions() as session:
            row = session.get(SyncRun, self.run_id)
            started = (row.started_at if row is not None else None) or now
        duration = max(0, int((now - started).total_seconds() * 1000))
        self.save(state=state, stop_reason=stop_reason[:500], finished_at=now, duration_ms=duration)
        with self.sessions() as session:
            row = session.get(SyncRun, self.run_id)
            assert row is not None
            return view(row)
