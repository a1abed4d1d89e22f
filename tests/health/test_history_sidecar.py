"""The real `checker.py --once` rolls up the checks it made and prunes both windows, on SQLite and
PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from sqlalchemy import func, select, update

from connhub.config import PROJECT_ROOT
from connhub.models import CheckRecord, CheckRollup, Connection, Outcome, RollupPeriod, Status, utcnow
from tests.support.connect import connect, make_user
from tests.support.history import add_checks
from tests.support.sandbox import process_env


def test_checker_once_rolls_up_its_checks_and_prunes_both_windows(db_rt):
    alice = make_user(db_rt, "alice")
    cid = connect(db_rt, alice, "vk")  # the connect's own check is a record too
    add_checks(db_rt, cid, [(utcnow() - timedelta(days=8), Outcome.OK, Status.ONLINE, 5)])  # past the raw window
    with db_rt.sessions() as session:
        session.add(CheckRollup(connection_id=cid, period=RollupPeriod.DAY, bucket_start=utcnow() - timedelta(days=95),
                                checks=1, failures=0, worst_status=Status.ONLINE))  # past the rollup window
        session.execute(update(Connection).values(next_check_at=utcnow() - timedelta(seconds=1)))
        session.commit()

    done = subprocess.run([sys.executable, "checker.py", "--once"], cwd=PROJECT_ROOT, env=process_env(db_rt),
                          capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    with db_rt.sessions() as session:
        hours = session.scalars(select(CheckRollup).where(CheckRollup.period == RollupPeriod.HOUR)).all()
        days = session.scalars(select(CheckRollup).where(CheckRollup.period == RollupPeriod.DAY)).all()
        raw = session.scalar(select(func.count()).select_from(CheckRecord))
    assert sum(hour.checks for hour in hours) == 2 and {hour.worst_status for hour in hours} == {"online"}
    assert [day.checks for day in days] in ([2], [1, 1])  # the 95-day-old rollup is gone
    assert raw == 2  # the 8-day-old check is gone
