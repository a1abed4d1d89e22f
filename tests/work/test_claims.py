"""One way to claim work (connhub.work.claims): the database's one-active-run guarantee, the
process lock, a catalog job's lease renewed by time, and two claimers never taking one job."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from connhub.catalog import refresh
from connhub.models import CatalogRefreshJob, RefreshSource, RefreshState, SyncRun, SyncRunState, utcnow
from connhub.ports.catalog import GroupRecord, Page, ProductRecord, RefreshBounds, StoreRecord
from connhub.sync import run_record, runs
from tests.support.connect import connect, make_user
from tests.work.procs import DEADLINE, holder


def wait_until(condition, what: str, timeout: float = DEADLINE):
    deadline = time.monotonic() + timeout
    while not (got := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return got


def test_the_database_refuses_a_second_active_run_of_one_user(db_rt):
    alice = make_user(db_rt, "alice")
    with db_rt.sessions() as session:
        session.add(SyncRun(user_id=alice.id, trigger="cli", state=SyncRunState.RUNNING, requested_at=utcnow()))
        session.commit()
        session.add(SyncRun(user_id=alice.id, trigger="page", state=SyncRunState.REQUESTED, requested_at=utcnow()))
        with pytest.raises(IntegrityError):
            session.commit()


def test_a_request_while_a_live_run_holds_the_lock_is_refused_and_accepted_once_it_is_gone(db_rt):
    alice = make_user(db_rt, "alice")
    active = runs.start_run(db_rt.sessions, alice.id, trigger=runs.Trigger.CLI, triggered_by="cli")
    try:
        with pytest.raises(runs.RunInProgress) as busy:
            runs.request_run(db_rt.sessions, alice.id, triggered_by="alice@example.test")
        assert busy.value.run is not None and busy.value.run.id == active.id
        with db_rt.sessions() as session:
            assert runs.active_run(session, alice.id) is not None
    finally:
        active.close()  # the lock is freed and nothing recorded an end: as if the process died
    with db_rt.sessions() as session:
        assert runs.active_run(session, alice.id) is None  # «Синхронизировать сейчас» is enabled again
    requested = runs.request_run(db_rt.sessions, alice.id, triggered_by="alice@example.test")
    with db_rt.sessions() as session:
        dead = session.get(SyncRun, active.id)
        assert dead is not None and dead.state == SyncRunState.FAILED and dead.stop_reason.startswith("Прервано")
    assert requested.state == SyncRunState.REQUESTED


class BlockedCatalog:
    """A catalog whose store list answers only when the test says so."""

    service = "Тест"
    bounds = RefreshBounds()

    def __init__(self) -> None:
        self.answer = threading.Event()

    def stores(self) -> list[StoreRecord]:
        assert self.answer.wait(DEADLINE)
        return []

    def stores_page(self, cursor: str | None) -> Page[StoreRecord]:
        return Page(self.stores(), None)

    def groups_page(self, store_id: str, cursor: str | None) -> Page[GroupRecord]:
        raise AssertionError("no stores, no groups")

    def products_page(self, store_id: str, cursor: str | None) -> Page[ProductRecord]:
        raise AssertionError("no stores, no products")


def test_a_catalog_jobs_lease_is_renewed_while_a_request_hangs(db_rt):
    alice = make_user(db_rt, "alice")
    connection_id = connect(db_rt, alice, "evotor")
    job = refresh.request_refresh(db_rt.sessions, connection_id, store_id=None, source=RefreshSource.USER)
    source = BlockedCatalog()
    lease = timedelta(seconds=1)
    worker = threading.Thread(target=refresh.run_pending, args=(db_rt.sessions, "w-1", lambda _cid: source),
                              kwargs={"lease": lease}, daemon=True)
    worker.start()

    def lease_end():
        with db_rt.sessions() as session:
            return session.scalar(select(CatalogRefreshJob.lease_expires_at).where(CatalogRefreshJob.id == job.id))

    first = wait_until(lease_end, "the job to be claimed")
    wait_until(lambda: lease_end() - first > 3 * lease, "the lease to be renewed past three leases")
    assert refresh.claim_next(db_rt.sessions, "w-2", lease=lease) is None  # never taken from a live worker
    source.answer.set()
    worker.join(DEADLINE)
    with db_rt.sessions() as session:
        done = session.get(CatalogRefreshJob, job.id)
        assert done is not None and done.state == RefreshState.SUCCEEDED


@pytest.mark.postgres
def test_two_claimers_on_postgresql_never_claim_one_job_twice(make_rt, pg_url, tmp_path):
    rt = make_rt(DATABASE_URL=pg_url)
    jobs = set()
    for n in range(12):
        user = make_user(rt, f"shop{n}")
        jobs.add(refresh.request_refresh(rt.sessions, connect(rt, user, "evotor"), store_id=None,
                                         source=RefreshSource.SCHEDULE).id)
    claimers = [holder(rt, "claim", str(tmp_path)) for _ in range(2)]
    try:
        (tmp_path / "go").touch()
        claimed = []
        for claimer in claimers:
            claimer.expect(lambda line: line == "end")
            claimed.append([int(line.split()[1]) for line in claimer.seen if line.startswith("claimed ")])
            assert claimer.finish() == 0
    finally:
        for claimer in claimers:
            claimer.stop()
    every = claimed[0] + claimed[1]
    assert sorted(every) == sorted(jobs), claimed  # each job exactly once
    print(f"\nclaims per process: {[len(c) for c in claimed]}")


def test_a_run_closed_by_someone_else_stops_writing_and_keeps_the_closing_reason(db_rt):
    alice = make_user(db_rt, "alice")
    with runs.start_run(db_rt.sessions, alice.id, trigger=runs.Trigger.CLI, triggered_by="cli") as active:
        recorder = run_record.RunRecorder(db_rt.sessions, active.id)
        recorder.save()
        with db_rt.sessions() as session:  # declared dead elsewhere (a lease that ran out on another host)
            row = session.get(SyncRun, active.id)
            assert row is not None
            row.state, row.stop_reason = SyncRunState.FAILED, runs.ABANDONED_REASON
            session.commit()
        recorder.phase = "Добавление товаров: 4"
        with pytest.raises(run_record.RunClosed):
            recorder.save()  # the engine stops here: nothing more is written to VK or the mapping table
        ended = recorder.finish(SyncRunState.FINISHED)
    assert ended.state == SyncRunState.FAILED and ended.stop_reason == runs.ABANDONED_REASON
