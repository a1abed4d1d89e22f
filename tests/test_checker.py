"""checker.py as its own process: --once, every status, clean stop (write contention: test_write_contention)."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select, update

from connhub.config import PROJECT_ROOT
from connhub.models import Connection, Status, utcnow
from tests.support.checker import run_checker
from tests.support.connect import connect, make_user
from tests.support.sandbox import process_env


def make_all_due(rt) -> None:
    with rt.sessions() as session:
        session.execute(update(Connection).values(next_check_at=utcnow() - timedelta(seconds=1)))
        session.commit()


def statuses(rt) -> dict[str, Status]:
    with rt.sessions() as session:
        return {row.display_name + "/" + row.provider: Status(row.status)
                for row in session.scalars(select(Connection))}


def test_once_runs_one_cycle_over_due_connections_showing_every_status(rt, sandbox_control):
    healthy, dead, troubled, fresh = (make_user(rt, name) for name in ("healthy", "dead", "troubled", "fresh"))
    connect(rt, healthy, "vk")
    connect(rt, dead, "vk", account="100200300")
    troubled_id = connect(rt, troubled, "evotor")
    fresh_id = connect(rt, fresh, "evotor", account="01-000000000000002")
    make_all_due(rt)
    with rt.sessions() as session:
        session.execute(update(Connection).where(Connection.id == troubled_id).values(consecutive_failures=2))
        session.execute(update(Connection).where(Connection.id == fresh_id).values(
            status=Status.NEVER_CHECKED, next_check_at=utcnow() + timedelta(hours=1)))
        session.commit()
    sandbox_control.revoke("vk", account_id="100200300")
    sandbox_control.set_fault("evotor-api", status=503)

    done = run_checker(rt, "--once")

    assert done.returncode == 0, done.stderr
    assert "cycle: checked=3 written=3" in done.stderr
    assert "[offline=1, online=1, reconnect=1]" in done.stderr
    assert statuses(rt) == {
        "Иван Иванов/vk": Status.ONLINE,
        "Мария Петрова/vk": Status.RECONNECT,
        "Чайная/evotor": Status.OFFLINE,
        "Пекарня/evotor": Status.NEVER_CHECKED,  # not due: untouched
    }


def test_sigterm_stops_the_checker_cleanly(rt):
    process = subprocess.Popen([sys.executable, "checker.py"], cwd=PROJECT_ROOT, env=process_env(rt),
                               stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:  # wait for the real readiness signal
            if "started" in line:
                break
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "stopped" in rest


def test_once_runs_each_worker_health_catalog_and_sync(rt, sandbox_control):
    from connhub.catalog import refresh
    from connhub.models import CatalogRefreshJob, RefreshSource, RefreshState, SyncRun, SyncRunState
    from connhub.sync import runs

    shop, dead, asker = (make_user(rt, name) for name in ("shop", "dead", "asker"))
    shop_id = connect(rt, shop, "evotor")
    make_all_due(rt)
    job = refresh.request_refresh(rt.sessions, shop_id, store_id=None, source=RefreshSource.USER)
    with rt.sessions() as session:  # a run whose process died (no lock held, lease long gone)
        session.add(SyncRun(user_id=dead.id, trigger="cron", state=SyncRunState.RUNNING,
                            started_at=utcnow() - timedelta(hours=1), heartbeat_at=utcnow() - timedelta(hours=1)))
        session.commit()
    requested = runs.request_run(rt.sessions, asker.id, triggered_by="asker")  # never configured: stops at once

    done = run_checker(rt, "--once")

    assert done.returncode == 0, done.stderr
    assert "cycle: checked=1 written=1" in done.stderr
    with rt.sessions() as session:
        refreshed = session.get(CatalogRefreshJob, job.id)
        assert refreshed is not None and refreshed.state == RefreshState.SUCCEEDED
        [closed] = session.scalars(select(SyncRun).where(SyncRun.user_id == dead.id)).all()
        assert closed.state == SyncRunState.FAILED and closed.stop_reason.startswith("Прервано")
        ran = session.get(SyncRun, requested.id)
        assert ran is not None and ran.state == SyncRunState.STOPPED and "выключена" in ran.stop_reason


def test_the_health_path_imports_nothing_heavy():
    code = ("import sys, checker; heavy = [m for m in ('pandas', 'pyarrow', 'PIL', 'apprise', 'altair', 'authlib', "
            "'connhub.sync.engine') if m in sys.modules]; print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
