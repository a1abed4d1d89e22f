"""The sidecar's Prometheus metrics: the real checker.py with METRICS_PORT, scraped over HTTP; and
the counters that the database and the code feed."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta

import requests
from prometheus_client import CollectorRegistry, generate_latest

from connhub import metrics
from connhub.metrics import Registry
from connhub.models import SyncRun, SyncRunState, utcnow
from connhub.observe import exporter
from connhub.observe.database import DatabaseReader
from connhub.observe.exporter import _Collector
from tests.support.connect import connect, make_user
from tests.support.sandbox import PROJECT_ROOT, process_env

DEADLINE_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def value(text: str, series: str) -> float | None:
    """The value of one series (name with its labels, as exposed) in a scrape, or None."""
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


def scrape_when(url: str, ready, *, what: str) -> str:
    """Scrape until `ready(text)` holds; fail with what was waited for after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    last = ""
    while time.monotonic() < deadline:
        try:
            response = requests.get(url, timeout=5)
            last = response.text
            if response.status_code == 200 and ready(last):
                return last
        except requests.ConnectionError:
            pass
        time.sleep(0.2)  # polling the endpoint, bounded by the deadline above
    raise AssertionError(f"no scrape showed {what} within {DEADLINE_SECONDS}s; last:\n{last[-3000:]}")


def test_the_sidecar_serves_metrics_on_metrics_port(make_rt):
    rt = make_rt(HEALTH_CHECK_INTERVAL_SECONDS=2)
    alice = make_user(rt, "alice")
    connect(rt, alice, "evotor")
    connect(rt, alice, "vk")
    port = free_port()
    env = {**process_env(rt), "METRICS_PORT": str(port), "LOG_LEVEL": "INFO"}
    checker = subprocess.Popen([sys.executable, "checker.py"], cwd=PROJECT_ROOT, env=env, stderr=subprocess.PIPE,
                               text=True)
    try:
        # The connections were checked at connect; the checker's own checks follow their schedule.
        text = scrape_when(f"http://127.0.0.1:{port}/metrics",
                           lambda text: (value(text, 'connhub_checks_total{outcome="ok",provider="evotor",'
                                                     'source="checker"}') or 0) >= 1
                           and (value(text, "connhub_cycle_duration_seconds_count") or 0) >= 1,
                           what="a scheduled Evotor check and a finished cycle")
    finally:
        checker.send_signal(signal.SIGTERM)
        _, stderr = checker.communicate(timeout=60)
    assert checker.returncode == 0, stderr
    assert f"metrics on http://127.0.0.1:{port}/metrics" in stderr
    assert value(text, "connhub_database_up") == 1
    assert value(text, 'connhub_connections{provider="evotor",status="online"}') == 1
    assert value(text, 'connhub_connections{provider="vk",status="online"}') == 1
    assert value(text, "connhub_due_check_lag_seconds") is not None
    assert value(text, 'connhub_sync_runs_active{state="requested"}') == 0
    assert value(text, 'connhub_catalog_refresh_jobs{state="queued"}') is not None
    assert value(text, 'connhub_notices_total{outcome="failed"}') == 0
    assert (value(text, "process_resident_memory_bytes") or 0) > 10_000_000
    assert "# TYPE connhub_cycle_duration_seconds histogram" in text


def test_without_metrics_port_nothing_listens_and_importing_the_checker_skips_prometheus():
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, checker; print('prometheus_client' in sys.modules)"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert probe.stdout.strip() == "False", probe.stderr


def scrape(reader: DatabaseReader | None, registry: Registry) -> str:
    collector_registry = CollectorRegistry(auto_describe=False)

    class Scoped(_Collector):
        def collect(self):
            yield from exporter.families(self.reader, registry)

    collector_registry.register(Scoped(reader))
    return generate_latest(collector_registry).decode()


def test_vk_requests_error_6_refreshes_and_notices_are_counted_by_this_process():
    registry = Registry()
    original = metrics.REGISTRY
    metrics.REGISTRY = registry
    try:
        for _ in range(3):
            metrics.vk_request("market.edit")
        metrics.vk_error("market.edit", 6)
        metrics.vk_error("market.add", None)
        metrics.token_refresh("vk", "ok")
        metrics.notice("sent")
    finally:
        metrics.REGISTRY = original
    text = scrape(None, registry)
    assert value(text, 'connhub_vk_requests_total{method="market.edit"}') == 3
    assert value(text, 'connhub_vk_errors_total{code="6",method="market.edit"}') == 1
    assert value(text, 'connhub_vk_errors_total{code="transport",method="market.add"}') == 1
    assert value(text, 'connhub_token_refreshes_total{outcome="ok",provider="vk"}') == 1
    assert value(text, 'connhub_notices_total{outcome="sent"}') == 1
    assert value(text, "connhub_database_up") == 0  # no database given: still an answer


def test_sync_runs_finished_after_the_exporter_started_are_counted_once_with_their_duration(db_rt):
    alice = make_user(db_rt, "alice")
    reader = DatabaseReader(db_rt)
    now = utcnow()
    with db_rt.sessions() as session:  # before the exporter started: not counted
        session.add(SyncRun(user_id=alice.id, trigger="cron", state=SyncRunState.FINISHED, requested_at=now,
                            finished_at=now - timedelta(hours=1), duration_ms=1000))
        session.commit()
    scrape(reader, Registry())
    with db_rt.sessions() as session:
        for state, ms in ((SyncRunState.FINISHED, 42_000), (SyncRunState.FAILED, 3_000)):
            session.add(SyncRun(user_id=alice.id, trigger="cron", state=state, requested_at=now,
                                finished_at=utcnow() + timedelta(seconds=1), duration_ms=ms))
        session.commit()
    first, second = scrape(reader, Registry()), scrape(reader, Registry())
    for text in (first, second):
        assert value(text, 'connhub_sync_runs_total{outcome="finished"}') == 1
        assert value(text, 'connhub_sync_runs_total{outcome="failed"}') == 1
        assert value(text, 'connhub_sync_run_duration_seconds_sum{outcome="finished"}') == 42
