"""The sidecar's catalog refreshes of different users run at once, bounded by CATALOG_CONCURRENCY (issue 19)."""

from __future__ import annotations

import threading

from sqlalchemy import select

from connhub.catalog import refresh
from connhub.catalog.worker import CatalogWorker
from connhub.models import CatalogRefreshJob, RefreshSource, RefreshState
from connhub.providers.evotor.sandbox import EVOTOR_ACCOUNTS
from tests.support.connect import connect, make_user

ACCOUNT = next(iter(EVOTOR_ACCOUNTS))
SMALL_STORE = EVOTOR_ACCOUNTS[ACCOUNT][1]["id"]


def jobs(rt) -> list[CatalogRefreshJob]:
    with rt.sessions() as session:
        return list(session.scalars(select(CatalogRefreshJob).order_by(CatalogRefreshJob.id)))


def request_two(rt) -> None:
    for name in ("alice", "bob"):
        connection_id = connect(rt, make_user(rt, name), "evotor", account=ACCOUNT)
        refresh.request_refresh(rt.sessions, connection_id, store_id=SMALL_STORE, source=RefreshSource.USER)


def test_two_users_refreshes_overlap_in_one_sidecar(make_rt, sandbox_control):
    rt = make_rt(CATALOG_CONCURRENCY=2)
    request_two(rt)
    sandbox_control.set_fault("evotor-api", latency_ms=300)  # each refresh takes a few answers' time

    done = CatalogWorker(rt, "sidecar", threading.Event()).run_pending_pool()

    assert sorted(job.state for job in done) == [RefreshState.SUCCEEDED] * 2
    a, b = jobs(rt)
    assert a.started_at < b.finished_at and b.started_at < a.finished_at


def test_with_catalog_concurrency_one_they_run_one_after_the_other(make_rt, sandbox_control):
    rt = make_rt(CATALOG_CONCURRENCY=1)
    request_two(rt)
    sandbox_control.set_fault("evotor-api", latency_ms=300)

    done = CatalogWorker(rt, "sidecar", threading.Event()).run_pending_pool()

    assert sorted(job.state for job in done) == [RefreshState.SUCCEEDED] * 2
    a, b = jobs(rt)
    assert a.finished_at <= b.started_at
