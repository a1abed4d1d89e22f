"""Refresh jobs: a request recorded by the page or the schedule, run by the sidecar.

A job refreshes one connection's catalog: the store list, then each store's groups and products
(one store when the user asked for one). Each store's data is written into a new snapshot that
nobody reads while it loads; when it is complete, one short transaction makes it current and
retires the old one, so readers see the old catalog or the new one, never half of one. A job that
fails deletes its unfinished snapshot and the previous one stays.

Bounds: a refresh stops at the first of its source's `RefreshBounds` it would pass (pages,
requests, seconds, records read) or at a cursor it was already given, and fails saying which;
a provider that pages forever costs one bounded job, never a hung worker or a full memory.
Records the provider's parser left out, and groups whose parents formed a cycle (stored at the
top), are counted and the first few named on the job (`items_skipped`, `problems`).

Concurrency: a partial unique index allows one unfinished job per connection, so a second
request while one is queued or running joins it, and two refreshes of one store never run at
once. A worker claims a job with a lease (`connhub.work.claims`) that a heartbeat thread renews
by time while the job runs, whatever it waits on; a job whose worker died (lease expired) is
claimed again from the start.

This module runs claimed jobs to their end; the rest lives one concern per module and is
re-exported here: jobs.py (requests, claims, leases, the job as read), runner.py (paging within
the bounds) and swap.py (writing a snapshot and swapping it in).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from connhub.catalog.jobs import (
    LEASE,
    JobView,
    claim_next,
    drop_loading,
    job_view,
    last_finished_job,
    latest_job,
    renew_lease,
    request_due_refreshes,
    request_refresh,
)
from connhub.catalog.runner import MAX_PROBLEMS, MAX_RATE_LIMIT_WAIT_SECONDS, JobFailed, Runner
from connhub.catalog.swap import INSERT_CHUNK, break_cycles
from connhub.db import write_locked
from connhub.journal import hooks as journal_hooks
from connhub.models import CatalogRefreshJob, RefreshState, utcnow
from connhub.ports.catalog import CatalogSource
from connhub.ports.errors import ProviderError
from connhub.providers.capabilities import CATALOG
from connhub.runtime import Runtime
from connhub.work.claims import Heartbeat, beat_every

__all__ = [
    "INSERT_CHUNK", "LEASE", "MAX_PROBLEMS", "MAX_RATE_LIMIT_WAIT_SECONDS", "JobFailed", "JobView", "break_cycles",
    "catalog_providers", "claim_next", "last_finished_job", "latest_job", "renew_lease", "request_due_refreshes",
    "request_refresh", "run_job", "run_own", "run_pending",
]

log = logging.getLogger(__name__)


def catalog_providers(rt: Runtime) -> list[str]:
    """The keys of the providers that offer a catalog, in registry order (whose catalogs are refreshed)."""
    return [provider.info.key for provider in rt.providers.all() if CATALOG.offered_by(provider)]


def run_job(
    sessions: sessionmaker[Session],
    job: JobView,
    source: CatalogSource,
    *,
    wait: Callable[[float], Any] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    should_stop: Callable[[], bool] = lambda: False,
    lease: timedelta = LEASE,
) -> JobView:
    """Run a claimed job to the end and record how it went. Never raises for provider trouble."""
    runner = Runner(sessions, job, source, wait, clock, should_stop)
    started = clock()
    state, reason, code = RefreshState.SUCCEEDED, "", ""
    heartbeat = Heartbeat(f"catalog-job-{job.id}", partial(renew_lease, sessions, job.id, lease),
                          beat_every(lease.total_seconds())).start()
    try:
        runner.run()
    except JobFailed as failure:
        state, reason, code = RefreshState.FAILED, failure.reason, failure.code
    except Exception:
        log.exception("catalog refresh job %s failed", job.id)
        state, reason, code = RefreshState.FAILED, "Внутренняя ошибка при обновлении каталога", "internal"
    finally:
        heartbeat.stop()
    finished = utcnow()
    with write_locked(sessions) as session:
        if state == RefreshState.FAILED:
            drop_loading(session, job.id)
        record = session.get(CatalogRefreshJob, job.id)
        assert record is not None
        record.state = state
        record.finished_at = finished
        record.duration_ms = int((clock() - started) * 1000)
        record.requests = runner.requests
        record.pages_read = runner.pages
        record.items_read = runner.items
        record.items_skipped = runner.skipped
        record.problems = runner.problems[:MAX_PROBLEMS] or None
        record.error = reason[:500]
        record.error_code = code[:64]
        record.lease_expires_at = None
        journal_hooks.catalog_job_ended(session, connection_id=job.connection_id, failed=state == RefreshState.FAILED,
                                        reason=reason, source=record.source)  # lane notify
        session.commit()
        result = job_view(record)
    log.info("catalog refresh job %s of connection %s: %s, %d requests, %d items, %d ms%s", job.id,
             job.connection_id, state, runner.requests, runner.items, result.duration_ms or 0,
             f" ({code})" if code else "")
    return result


def run_own(sessions: sessionmaker[Session], job_id: int, worker: str,
            open_source: Callable[[int], CatalogSource]) -> JobView | None:
    """Claim job `job_id` and run it here, if it is still there to take (no sidecar took it)."""
    job = claim_next(sessions, worker, job_id=job_id)
    if job is None:
        return None
    try:
        source = open_source(job.connection_id)
    except ProviderError as error:
        return _fail_unstarted(sessions, job, error.reason, error.code)
    return run_job(sessions, job, source)


def run_pending(
    sessions: sessionmaker[Session],
    worker: str,
    open_source: Callable[[int], CatalogSource],
    *,
    limit: int | None = None,
    wait: Callable[[float], Any] = time.sleep,
    should_stop: Callable[[], bool] = lambda: False,
    lease: timedelta = LEASE,
) -> list[JobView]:
    """Claim and run jobs until none is left (or `limit` ran). `open_source(connection_id)`
    gives the account's catalog; a ProviderError from it fails that job alone."""
    done: list[JobView] = []
    while (limit is None or len(done) < limit) and not should_stop():
        job = claim_next(sessions, worker, lease=lease)
        if job is None:
            break
        try:
            source = open_source(job.connection_id)
        except ProviderError as error:
            done.append(_fail_unstarted(sessions, job, error.reason, error.code))
            continue
        done.append(run_job(sessions, job, source, wait=wait, should_stop=should_stop, lease=lease))
    return done


def _fail_unstarted(sessions: sessionmaker[Session], job: JobView, reason: str, code: str) -> JobView:
    with write_locked(sessions) as session:
        record = session.get(CatalogRefreshJob, job.id)
        assert record is not None
        record.state = RefreshState.FAILED
        record.finished_at = utcnow()
        record.duration_ms = 0
        record.error = reason[:500]
        record.error_code = code[:64]
        session.commit()
        return job_view(record)
