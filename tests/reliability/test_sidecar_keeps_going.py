"""Row 11 of issue 7 and §5: the sidecar waits for its database, says when a cycle failed, and
never writes into a SQLite file that was deleted or replaced under it."""

from __future__ import annotations

import signal

import pytest
from sqlalchemy.engine import make_url

from connhub.models import Base
from connhub.runtime import Runtime
from tests.reliability.hostile import LateDatabase
from tests.support.checker import (
    provider_env,
    records,
    run_checker,
    seed,
    start_checker,
    wait_for_line,
)
from tests.support.sandbox import settings_for

GOOD_STORES = {"items": [{"id": "s-1", "name": "Чайная", "address": "Москва"}]}


@pytest.mark.postgres
def test_a_checker_started_while_the_database_is_down_waits_and_then_checks(hostile, pg_url, tmp_path):
    real = make_url(pg_url)
    late = LateDatabase((real.host or "127.0.0.1", real.port or 5432))
    rt = Runtime.from_settings(settings_for(tmp_path, DATABASE_URL=pg_url, HTTP_TIMEOUT_SECONDS=2,
                                            **provider_env(hostile.base_url)))
    try:
        Base.metadata.create_all(rt.engine)
        shop = seed(rt, "shop", "evotor")
        hostile.answer("GET", "/evotor-api/stores", json_body=GOOD_STORES)
        down_url = real.set(port=late.port).render_as_string(hide_password=False)
        process = start_checker(rt, DATABASE_URL=down_url)
        log: list[str] = []
        try:
            wait_for_line(process, "is not reachable (attempt 1)", log)
            wait_for_line(process, "is not reachable (attempt 2)", log)
            late.open()
            wait_for_line(process, "started", log)
            hostile.wait_for_request("/evotor-api/stores")
            process.send_signal(signal.SIGTERM)
            _, rest = process.communicate(timeout=60)
        finally:
            process.kill()
            late.close()
        assert process.returncode == 0, "".join(log) + rest
        assert "Traceback" not in "".join(log) + rest
        assert "retrying in 2s" in "".join(log)  # backoff: 1 s, then 2 s, ...
        assert records(rt, shop)[-1].outcome == "ok"
    finally:
        rt.close()


def test_once_exits_non_zero_when_its_cycle_failed(hostile, database_url, tmp_path):
    # The schema was never migrated: the cycle cannot claim anything.
    rt = Runtime.from_settings(settings_for(tmp_path, DATABASE_URL=database_url, **provider_env(hostile.base_url)))
    try:
        run = run_checker(rt, "--once")
    finally:
        rt.close()
    assert run.returncode == 1
    assert "cycle failed" in run.log


def test_once_gives_up_non_zero_when_the_database_never_answers(hostile, tmp_path):
    late = LateDatabase(("127.0.0.1", 9))  # never opened
    rt = Runtime.from_settings(settings_for(tmp_path, **provider_env(hostile.base_url)))
    try:
        run = run_checker(rt, "--once", DATABASE_URL=f"postgresql+psycopg://nobody:s3cret@127.0.0.1:{late.port}/x")
    finally:
        rt.close()
    assert run.returncode == 1
    assert "attempt 5 of 5" in run.log and "giving up" in run.log
    assert "s3cret" not in run.log
    assert "Traceback" not in run.log


def test_a_sqlite_file_deleted_under_the_running_checker_is_reported_and_not_written_into(hostile, tmp_path):
    rt = Runtime.from_settings(settings_for(tmp_path, HTTP_TIMEOUT_SECONDS=2, HEALTH_CHECK_INTERVAL_SECONDS=20,
                                            **provider_env(hostile.base_url)))
    database = tmp_path / "connhub.db"
    try:
        Base.metadata.create_all(rt.engine)
        seed(rt, "shop", "evotor")
        hostile.answer("GET", "/evotor-api/stores", json_body=GOOD_STORES)
        process = start_checker(rt)
        log: list[str] = []
        try:
            wait_for_line(process, "started", log)
            rt.engine.dispose()
            for name in ("connhub.db", "connhub.db-wal", "connhub.db-shm"):
                (tmp_path / name).unlink(missing_ok=True)
            wait_for_line(process, "was deleted while this process was using it", log)
            process.communicate(timeout=60)
        finally:
            process.kill()
    finally:
        rt.close()
    assert process.returncode == 3, "".join(log)
    assert not database.exists()  # the checker did not create a fresh empty database in its place


def test_a_sqlite_file_replaced_under_the_running_checker_is_reported(hostile, tmp_path):
    rt = Runtime.from_settings(settings_for(tmp_path, HTTP_TIMEOUT_SECONDS=2, HEALTH_CHECK_INTERVAL_SECONDS=20,
                                            **provider_env(hostile.base_url)))
    database = tmp_path / "connhub.db"
    try:
        Base.metadata.create_all(rt.engine)
        seed(rt, "shop", "evotor")
        hostile.answer("GET", "/evotor-api/stores", json_body=GOOD_STORES)
        process = start_checker(rt)
        log: list[str] = []
        try:
            wait_for_line(process, "started", log)
            backup = tmp_path / "backup.db"
            backup.write_bytes(database.read_bytes())
            backup.replace(database)  # an operator "restores a backup" under the running process
            wait_for_line(process, "was replaced by another file", log)
            process.communicate(timeout=60)
        finally:
            process.kill()
        assert process.returncode == 3
    finally:
        rt.close()
