"""The sidecar's pool of sync runs (issue 19): different users' runs go on at once, one run is
never taken twice, and several sidecars on PostgreSQL share the queue."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update

from connhub.models import Connection, SyncConfig, SyncRun, SyncRunState, utcnow
from connhub.sync import runs
from connhub.sync.worker import sync_worker
from tests.support.connect import make_user
from tests.support.goods import ready_for_goods
from tests.support.sync import GROUP

OTHER_GROUP = 218252177  # «Кофейня на Садовой»: bob publishes there, so the two runs never meet
SELECTED = {"p-sencha", "p-gyokuro", "p-assam", "p-latte"}


def skus(vk_goods, group: int) -> list[str]:
    return sorted(str(item["sku"]) for item in vk_goods.items(group) if not item.get("deleted"))


def ready_elsewhere(rt, user, vk_goods) -> None:
    """Ready like alice, but publishing to the other community (set under the form's check, which
    knows only the suite's usual community)."""
    ready_for_goods(rt, user, vk_goods)
    with rt.sessions() as session:
        session.execute(update(SyncConfig).where(SyncConfig.user_id == user.id).values(vk_group_id=OTHER_GROUP))
        session.commit()


def finished_runs(rt) -> list[SyncRun]:
    with rt.sessions() as session:
        return list(session.scalars(select(SyncRun).order_by(SyncRun.id)))


def test_two_users_runs_overlap_in_one_sidecar(make_rt, vk_goods):
    rt = make_rt(SYNC_CONCURRENCY=2)
    alice, bob = make_user(rt, "alice"), make_user(rt, "bob")
    ready_for_goods(rt, alice, vk_goods)
    ready_elsewhere(rt, bob, vk_goods)
    for user in (alice, bob):
        runs.request_run(rt.sessions, user.id, triggered_by=user.email)

    outcomes = sync_worker(rt, threading.Event()).run_once()

    assert isinstance(outcomes, list) and len(outcomes) == 2
    a, b = finished_runs(rt)
    assert a.state == b.state == SyncRunState.FINISHED
    assert a.started_at < b.finished_at and b.started_at < a.finished_at  # each began before the other ended
    assert skus(vk_goods, GROUP) == sorted(SELECTED) and skus(vk_goods, OTHER_GROUP) == sorted(SELECTED)


def test_one_users_second_request_waits_for_the_first(make_rt, vk_goods):
    rt = make_rt(SYNC_CONCURRENCY=4)
    alice = make_user(rt, "alice")
    ready_for_goods(rt, alice, vk_goods)
    runs.request_run(rt.sessions, alice.id, triggered_by=alice.email)
    with pytest.raises(runs.RunInProgress):
        runs.request_run(rt.sessions, alice.id, triggered_by=alice.email)
    outcomes = sync_worker(rt, threading.Event()).run_once()
    assert isinstance(outcomes, list) and len(outcomes) == 1
    assert vk_goods.stats()["calls"].get("market.add", 0) == len(SELECTED)


@pytest.mark.postgres
def test_two_sidecars_on_postgresql_never_run_one_run_twice(make_rt, pg_url, vk_goods):
    first = make_rt(DATABASE_URL=pg_url, SYNC_CONCURRENCY=3)
    second = make_rt(DATABASE_URL=pg_url, SYNC_CONCURRENCY=3)
    alice, bob = make_user(first, "alice"), make_user(first, "bob")
    ready_for_goods(first, alice, vk_goods)
    ready_elsewhere(first, bob, vk_goods)
    for user in (alice, bob):
        runs.request_run(first.sessions, user.id, triggered_by=user.email)
    results: list[object] = []
    sidecars = [threading.Thread(target=lambda rt=rt: results.extend(sync_worker(rt, threading.Event()).run_once()))
                for rt in (first, second)]
    for thread in sidecars:
        thread.start()
    for thread in sidecars:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in sidecars)

    assert len(results) == 2  # two runs, each run once, whichever sidecar took it
    assert [run.state for run in finished_runs(first)] == [SyncRunState.FINISHED] * 2
    assert vk_goods.stats()["calls"].get("market.add", 0) == 2 * len(SELECTED)
    assert skus(vk_goods, GROUP) == sorted(SELECTED) and skus(vk_goods, OTHER_GROUP) == sorted(SELECTED)


def test_sigterm_leaves_a_running_sync_resumable(rt, alice, vk_goods, sandbox_control):
    """The sidecar stops on SIGTERM while a run is in flight; the run is closed as interrupted and the
    next one publishes what is left, without duplicates."""
    import signal
    import subprocess
    import sys
    import time
    from datetime import timedelta

    from connhub.config import PROJECT_ROOT
    from tests.support.sandbox import process_env

    ready_for_goods(rt, alice, vk_goods)
    with rt.sessions() as session:  # no health check in the way: this is about the run
        session.execute(update(Connection).values(next_check_at=utcnow() + timedelta(hours=1)))
        session.commit()
    runs.request_run(rt.sessions, alice.id, triggered_by=alice.email)
    sandbox_control.set_fault("vk-api", latency_ms=3000)  # the run is slow: still going at the signal
    process = subprocess.Popen([sys.executable, "checker.py"], cwd=PROJECT_ROOT, env=process_env(rt),
                               stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 120  # a bound on waiting for the run to start, not a measured time
        while [run.state for run in finished_runs(rt)] != [SyncRunState.RUNNING]:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.1)  # polling the database: another process gives no signal
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0
    sandbox_control.clear_faults()

    runs.close_all_abandoned(rt.sessions, lease=runs.lease_of(rt.settings))  # its lock died with the process
    [interrupted] = finished_runs(rt)
    assert interrupted.state == SyncRunState.FAILED and interrupted.stop_reason.startswith("Прервано"), \
        interrupted.stop_reason
    runs.request_run(rt.sessions, alice.id, triggered_by=alice.email)
    outcomes = sync_worker(rt, threading.Event()).run_once()
    assert [outcome.state for outcome in outcomes] == [SyncRunState.FINISHED]  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60  # a bound: an add the stopped sidecar left at VK may land late
    while sandbox_control.stats()["in_flight"]["vk-api"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert skus(vk_goods, GROUP) == sorted(SELECTED)
