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
