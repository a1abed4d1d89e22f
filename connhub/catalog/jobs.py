"""Catalog refresh jobs as records: requested by the page or the schedule, claimed by a worker
with a lease, read back for the page (see `connhub.catalog.refresh` for the whole story).

A partial unique index allows one unfinished job per connection, so a second request while one is
queued or running joins it. A worker claims a job with a lease (`connhub.work.claims`) that a
heartbeat thread renews by time while the job runs; a job whose worker died (lease expired) is
claimed again from the start, its half-loaded snapshot dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from connhub.db import write_locked
from connhub.models import (
    CatalogRefreshJob,
    CatalogSnapshot,
    Connection,
    RefreshSource,
    RefreshState,
    SnapshotState,
    Status,
    utcnow,
)
from connhub.work.claims import claimable

LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class JobView:
    id: int
    connection_id: int
    store_id: str | None
    source: str
    requested_by_user_id: int | None
    requested_at: datetime
    state: str
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    requests: int
    pages_read: int
    items_read: int
    current_store_id: str | None
    error: str
    error_code: str
    items_skipped: int = 0
    problems: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.state in (RefreshState.QUEUED, RefreshState.RUNNING)


def job_view(job: CatalogRefreshJob) -> JobView:
    """A job row as the page and the workers read it."""
    return JobView(
        id=job.id, connection_id=job.connection_id, store_id=job.store_id, source=job.source,
        requested_by_user_id=job.requested_by_user_id, requested_at=job.requested_at, state=job.state,
        started_at=job.started_at, finished_at=job.finished_at, duration_ms=job.duration_ms,
        requests=job.requests, pages_read=job.pages_read, items_read=job.items_read,
        current_store_id=job.current_store_id, error=job.error, error_code=job.error_code,
        items_skipped=job.items_skipped or 0, problems=tuple(job.problems or ()),
    )


# --- requests --------------------------------------------------------------------------------


def request_refresh(
    sessions: sessionmaker[Session],
    connection_id: int,
    *,
    store_id: str | None,
    source: RefreshSource,
    user_id: int | None = None,
) -> JobView:
    """Record a refresh request; if one is already queued or running, return that one instead.

    A queued request for another single store is widened to every store, so nothing asked for
    is dropped.
    """
    with write_locked(sessions) as session:
        active = _active_job(session, connection_id)
        if active is None:
            job = CatalogRefreshJob(connection_id=connection_id, store_id=store_id, source=source,
                                    requested_by_user_id=user_id, state=RefreshState.QUEUED,
                                    requested_at=utcnow())
            session.add(job)
            try:
                session.flush()
            except IntegrityError:  # another process inserted one between our read and write
                session.rollback()
                return _existing_active(sessions, connection_id)
            session.commit()
            return job_view(job)
        if active.state == RefreshState.QUEUED and active.store_id not in (None, store_id):
            active.store_id = None
            session.commit()
        return job_view(active)


def _existing_active(sessions: sessionmaker[Session], connection_id: int) -> JobView:
    with sessions() as session:
        active = _active_job(session, connection_id)
        assert active is not None
        return job_view(active)


def _active_job(session: Session, connection_id: int) -> CatalogRefreshJob | None:
    return session.scalars(
        select(CatalogRefreshJob).where(CatalogRefreshJob.connection_id == connection_id,
                                        CatalogRefreshJob.finished_at.is_(None))
    ).first()


def request_due_refreshes(
    sessions: sessionmaker[Session],
    *,
    providers: Iterable[str],
    interval: timedelta,
    now: datetime | None = None,
) -> int:
    """Queue a scheduled refresh for each catalog connection not refreshed within `interval`.

    Connections whose token was rejected are skipped: only a reconnect can help them.
    """
    now = now or utcnow()
    recent = select(CatalogRefreshJob.id).where(
        CatalogRefreshJob.connection_id == Connection.id,
        or_(CatalogRefreshJob.finished_at.is_(None), CatalogRefreshJob.requested_at > now - interval),
    )
    with sessions() as session:
        due = session.scalars(
            select(Connection.id).where(Connection.provider.in_(list(providers)),
                                        Connection.status != Status.RECONNECT, ~exists(recent))
        ).all()
    for connection_id in due:
        request_refresh(sessions, connection_id, store_id=None, source=RefreshSource.SCHEDULE)
    return len(due)


def latest_job(session: Session, connection_id: int) -> JobView | None:
    job = session.scalars(
        select(CatalogRefreshJob).where(CatalogRefreshJob.connection_id == connection_id)
        .order_by(CatalogRefreshJob.requested_at.desc(), CatalogRefreshJob.id.desc()).limit(1)
    ).first()
    return None if job is None else job_view(job)


def last_finished_job(session: Session, connection_id: int, store_id: str | None = None, *,
                      succeeded: bool = False) -> JobView | None:
    """The last job that finished (for «обновлено … по расписанию / пользователем»)."""
    query = select(CatalogRefreshJob).where(CatalogRefreshJob.connection_id == connection_id,
                                            CatalogRefreshJob.finished_at.is_not(None))
    if succeeded:
        query = query.where(CatalogRefreshJob.state == RefreshState.SUCCEEDED)
    if store_id is not None:
        query = query.where(or_(CatalogRefreshJob.store_id.is_(None), CatalogRefreshJob.store_id == store_id))
    job = session.scalars(query.order_by(CatalogRefreshJob.finished_at.desc()).limit(1)).first()
    return None if job is None else job_view(job)


# --- claiming --------------------------------------------------------------------------------


def claim_next(sessions: sessionmaker[Session], worker: str, *, now: datetime | None = None,
               lease: timedelta = LEASE, job_id: int | None = None) -> JobView | None:
    """Take the oldest queued job (or job `job_id` only), or one whose worker's lease ran out; None
    when there is none (`connhub.work.claims`: SKIP LOCKED on PostgreSQL, the write lock on SQLite)."""
    now = now or utcnow()
    takeable = or_(
        CatalogRefreshJob.state == RefreshState.QUEUED,
        and_(CatalogRefreshJob.state == RefreshState.RUNNING, CatalogRefreshJob.lease_expires_at < now),
    )
    query = (
        select(CatalogRefreshJob).where(CatalogRefreshJob.finished_at.is_(None), takeable)
        .order_by(CatalogRefreshJob.requested_at, CatalogRefreshJob.id).limit(1)
    )
    if job_id is not None:
        query = query.where(CatalogRefreshJob.id == job_id)
    with write_locked(sessions) as session:
        job = session.scalars(claimable(query, session)).first()
        if job is None:
            return None
        if job.state == RefreshState.RUNNING:  # its worker died: drop what it left half-loaded
            drop_loading(session, job.id)
        job.state = RefreshState.RUNNING
        job.worker = worker
        job.started_at = now
        job.lease_expires_at = now + lease
        job.requests = job.pages_read = job.items_read = job.items_skipped = 0
        job.problems = None
        job.current_store_id = None
        session.commit()
        return job_view(job)


def renew_lease(sessions: sessionmaker[Session], job_id: int, lease: timedelta = LEASE) -> None:
    """The job's lease, renewed by time from its own thread while the job runs (whatever it waits on)."""
    with sessions.begin() as session:
        session.execute(update(CatalogRefreshJob).where(CatalogRefreshJob.id == job_id,
                                                        CatalogRefreshJob.state == RefreshState.RUNNING)
                        .values(lease_expires_at=utcnow() + lease))


def drop_loading(session: Session, job_id: int) -> None:
    """Delete what job `job_id` left half-loaded (its worker died, or the job failed)."""
    session.execute(delete(CatalogSnapshot).where(CatalogSnapshot.job_id == job_id,
                                                  CatalogSnapshot.state == SnapshotState.LOADING))
