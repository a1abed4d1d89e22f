"""Sync run records: requested on the page or started by the script, written while they run.

A run row is the only channel between the process doing a sync and the people watching it: the
page records a request (`request_run`), a background process claims it (`claim_requested`) or
the script starts one directly (`start_run`), and the engine writes its phase, progress and
counts as it goes (`RunRecorder`).

One active run per user is a database guarantee: a partial unique index on `sync_runs.user_id`
over the active states (`uq_sync_runs_active`), so two starts at the same instant cannot both
insert. A running run is alive while its process lives: it holds the user's process lock
(`connhub.work.claims.process_lock`: an advisory lock on PostgreSQL, `flock` next to the SQLite
file) and renews its lease (`heartbeat_at`) from its own thread every few seconds, whatever the
phase. A running run whose lock is free, or whose lease is older than `SYNC_RUN_LEASE_SECONDS`
where no lock can tell, was abandoned: it is closed as «Прервано» by the next start, request or
sidecar tick, and `active_run` never shows it as running.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from connhub.db import retry_while_locked, write_locked
from connhub.journal import hooks as journal_hooks
from connhub.models import SyncRun, SyncRunState, utcnow
from connhub.sync import texts
from connhub.work.claims import LOCK_WAIT_SECONDS, Heartbeat, ProcessLock, beat_every, claimable, process_lock

if TYPE_CHECKING:
    from connhub.config import Settings

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=5)  # the default lease (Settings.SYNC_RUN_LEASE_SECONDS)
ACTIVE = (SyncRunState.REQUESTED, SyncRunState.RUNNING)
LOCK_NAME = "sync-user"
ABANDONED_REASON = "Прервано: процесс синхронизации остановился; следующий запуск продолжит с того же места"


class Trigger:
    CRON = texts.TRIGGER_CRON  # run/sync.sh from cron
    MANUAL = texts.TRIGGER_MANUAL  # run/sync.sh by a person at a terminal
    PAGE = texts.TRIGGER_PAGE  # «Синхронизировать сейчас»
    CLI = texts.TRIGGER_CLI  # python -m connhub.sync
    SCHEDULE = texts.TRIGGER_SCHEDULE  # the sidecar's schedule (connhub.sync.schedule)


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


def lease_of(settings: Settings) -> timedelta:
    """How long a running run's lease lasts without a heartbeat (renewed every few seconds)."""
    return timedelta(seconds=settings.SYNC_RUN_LEASE_SECONDS)


def user_lock(bind: Session | sessionmaker[Session], user_id: int) -> ProcessLock:
    """The lock a running run of this user holds for as long as its process lives."""
    return process_lock(bind, LOCK_NAME, user_id)


# --- liveness -----------------------------------------------------------------------------------


def _dead(row: SyncRun, now: datetime, lease: timedelta, lock_free: bool | None) -> bool:
    if row.state != SyncRunState.RUNNING:
        return False
    if lock_free is True:
        return True
    beat = row.heartbeat_at or row.started_at or row.requested_at
    return beat is None or beat < now - lease


def close_abandoned(session: Session, user_id: int, now: datetime, *, lease: timedelta = STALE_AFTER,
                    lock_free: bool | None = None) -> int:
    """Close the user's running runs whose process is gone, as «Прервано»; how many were closed.

    `lock_free` is what the caller already knows of the user's lock (True: the caller holds it,
    so no other process runs this user); None probes it."""
    rows = session.scalars(select(SyncRun).where(SyncRun.user_id == user_id,
                                                 SyncRun.state == SyncRunState.RUNNING)).all()
    if not rows:
        return 0
    if lock_free is None:
        lock_free = user_lock(session, user_id).is_free()
    closed = 0
    for row in rows:
        if _dead(row, now, lease, lock_free):
            row.state, row.finished_at, row.stop_reason = SyncRunState.FAILED, now, ABANDONED_REASON
            row.phase = "Прервано"
            if row.started_at is not None:
                row.duration_ms = max(0, int((now - row.started_at).total_seconds() * 1000))
            journal_hooks.run_ended(session, row)  # the user's journal: «Прервано»
            log.warning("sync run %s of user %s was abandoned by its process (%s); closed", row.id, user_id,
                        row.worker or "?")
            closed += 1
    session.flush()
    return closed


def close_all_abandoned(sessions: sessionmaker[Session], *, lease: timedelta = STALE_AFTER) -> int:
    """The sidecar's sweep: close every user's abandoned runs (so nothing waits for a start)."""
    with sessions() as session:
        users = list(session.scalars(select(SyncRun.user_id).where(SyncRun.state == SyncRunState.RUNNING)
                                     .distinct()))
    closed = 0
    for user_id in users:
        with write_locked(sessions) as session:
            closed += close_abandoned(session, user_id, utcnow(), lease=lease)
            session.commit()
    return closed


# --- reading ------------------------------------------------------------------------------------


def recent_runs(session: Session, user_id: int, limit: int = 10) -> list[RunView]:
    rows = session.scalars(select(SyncRun).where(SyncRun.user_id == user_id)
                           .order_by(SyncRun.id.desc()).limit(limit)).all()
    return [view(row) for row in rows]


def active_run(session: Session, user_id: int, *, lease: timedelta = STALE_AFTER) -> RunView | None:
    """The user's requested or live running run, if any (the newest).

    A running run whose process is gone is not active, even before someone closes it: the page's
    «Синхронизировать сейчас» is never left disabled by a dead run."""
    row = session.scalars(select(SyncRun).where(SyncRun.user_id == user_id, SyncRun.state.in_(ACTIVE))
                          .order_by(SyncRun.id.desc()).limit(1)).first()
    if row is None:
        return None
    if row.state == SyncRunState.RUNNING and _dead(row, utcnow(), lease, user_lock(session, user_id).is_free()):
        return None
    return view(row)


# --- starting -----------------------------------------------------------------------------------


class RunInProgress(Exception):
    """Another run of this user is requested or running (None: one is starting this instant)."""

    def __init__(self, run: RunView | None) -> None:
        super().__init__(f"sync run {run.id} is {run.state}" if run is not None else "a sync run is starting")
        self.run = run


def _busy(sessions: sessionmaker[Session], user_id: int) -> RunInProgress:
    with sessions() as session:
        row = session.scalars(select(SyncRun).where(SyncRun.user_id == user_id, SyncRun.state.in_(ACTIVE))
                              .order_by(SyncRun.id.desc()).limit(1)).first()
        return RunInProgress(view(row) if row is not None else None)


def request_run(sessions: sessionmaker[Session], user_id: int, *, triggered_by: str,
                dry_run: bool = False, lease: timedelta = STALE_AFTER) -> RunView:
    """«Синхронизировать сейчас» (or the preview): record a request; RunInProgress when one is active."""
    now = utcnow()
    with write_locked(sessions) as session:
        close_abandoned(session, user_id, now, lease=lease)
        row = SyncRun(user_id=user_id, trigger=Trigger.PAGE, triggered_by=triggered_by[:320], dry_run=dry_run,
                      state=SyncRunState.REQUESTED, requested_at=now, phase="Ожидает запуска")
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # uq_sync_runs_active: the user's run is requested or running
            session.rollback()
            raise _busy(sessions, user_id) from None
        return view(row)


class ActiveRun:
    """A run this process is doing: its record, the user's process lock, and the lease's heartbeat.

    `close()` (or leaving the `with` block) stops the heartbeat and frees the lock; the run's
    outcome is written by its `RunRecorder` before that."""

    def __init__(self, sessions: sessionmaker[Session], run: RunView, lock: ProcessLock, lease: timedelta) -> None:
        self.run = run
        self.id = run.id
        self._lock = lock
        self._heartbeat = Heartbeat(f"sync-run-{run.id}", lambda: renew(sessions, run.id),
                                    beat_every(lease.total_seconds())).start()

    def close(self) -> None:
        try:
            self._heartbeat.stop()
        finally:
            self._lock.release()

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def renew(sessions: sessionmaker[Session], run_id: int) -> None:
    """The lease's heartbeat: a plain UPDATE, so it never waits behind a read snapshot."""
    with sessions.begin() as session:
        session.execute(update(SyncRun).where(SyncRun.id == run_id, SyncRun.state == SyncRunState.RUNNING)
                        .values(heartbeat_at=utcnow()))


def _running(row: SyncRun, now: datetime) -> None:
    row.state = SyncRunState.RUNNING
    row.started_at = now
    row.heartbeat_at = now
    row.worker = worker_id()[:128]
    row.phase = "Запуск"


def start_run(sessions: sessionmaker[Session], user_id: int, *, trigger: str, triggered_by: str,
              dry_run: bool = False, run_id: int | None = None, lease: timedelta = STALE_AFTER) -> ActiveRun:
    """Mark a run as running in this process: the requested one (`run_id`), or a new one.

    RunInProgress when another run of the user is active: its process holds the user's lock, or
    the unique index on active runs refuses a second one."""
    lock = user_lock(sessions, user_id)
    if not lock.acquire(LOCK_WAIT_SECONDS):
        raise _busy(sessions, user_id)

    def begin() -> RunView:
        now = utcnow()
        with write_locked(sessions) as session:
            close_abandoned(session, user_id, now, lease=lease, lock_free=True if lock.proves_liveness else None)
            if run_id is not None:
                row = session.scalars(claimable(select(SyncRun).where(
                    SyncRun.id == run_id, SyncRun.user_id == user_id, SyncRun.state == SyncRunState.REQUESTED),
                    session)).first()
                if row is None:
                    raise LookupError(f"sync run {run_id} is not waiting to start")
            else:
                row = SyncRun(user_id=user_id, trigger=trigger, triggered_by=triggered_by[:320], dry_run=dry_run,
                              requested_at=now)
                session.add(row)
            _running(row, now)
            try:
                session.commit()
            except IntegrityError:  # uq_sync_runs_active
                session.rollback()
                raise _busy(sessions, user_id) from None
            return view(row)

    try:
        started = retry_while_locked(begin)
    except BaseException:
        lock.release()
        raise
    return ActiveRun(sessions, started, lock, lease)


def claim_requested(sessions: sessionmaker[Session], *, lease: timedelta = STALE_AFTER) -> ActiveRun | None:
    """The oldest requested run of any user, claimed for this process (the sidecar's pick-up)."""
    with sessions() as session:
        waiting = session.execute(select(SyncRun.id, SyncRun.user_id).where(SyncRun.state == SyncRunState.REQUESTED)
                                  .order_by(SyncRun.id).limit(20)).all()
    for run_id, user_id in waiting:
        lock = user_lock(sessions, user_id)
        if not lock.acquire():
            continue  # a process is starting or running this user's run right now
        try:
            now = utcnow()
            with write_locked(sessions) as session:
                row = session.scalars(claimable(select(SyncRun).where(
                    SyncRun.id == run_id, SyncRun.state == SyncRunState.REQUESTED), session)).first()
                if row is None:  # another sidecar took it
                    lock.release()
                    continue
                _running(row, now)
                session.commit()
                claimed = view(row)
        except BaseException:
            lock.release()
            raise
        return ActiveRun(sessions, claimed, lock, lease)
    return None
