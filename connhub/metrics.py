"""The sidecar's Prometheus metrics (issue 21), served on METRICS_PORT when it is set (off by default).

Two sources, one scrape:
  - **the database, read at scrape time** (`DatabaseCollector`): what every process wrote there —
    connections by provider and status, the due checks and the lag of the oldest, queued and running
    catalog refreshes and sync runs, and, as counters since this exporter started, the check records
    by provider, outcome and source, the finished sync runs by outcome (with their durations) and
    the finished catalog refreshes (duration, products read). These describe the whole deployment:
    with several sidecars, each exports the same numbers (take `max`, not `sum`).
  - **in-process counters** where the database has nothing: this sidecar's cycles (duration,
    checks), token refreshes, VK requests and VK error 6 by method, notices sent and failed (the
    notify lane increments `notice`), and the process's own memory (`process_resident_memory_bytes`).

This module is plain Python; `prometheus_client` is imported only by `serve`, so `import checker`
stays lean and the counters cost a dict update when nobody scrapes. A scrape that cannot read the
database still answers, with `connhub_database_up 0` and the in-process metrics.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connhub.runtime import Runtime

log = logging.getLogger("connhub.metrics")

CYCLE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
RUN_BUCKETS = (1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
SIZE_BUCKETS = (10, 100, 1000, 5000, 10_000, 50_000, 100_000)


@dataclass
class Histogram:
    """Cumulative buckets, a sum and a count: what a Prometheus histogram exposes."""

    buckets: Sequence[float]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        for index, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[index] += 1
        self.total += value
        self.count += 1

    def exposition(self) -> list[tuple[str, float]]:
        return [*((_bound(bound), float(count)) for bound, count in zip(self.buckets, self.counts, strict=True)),
                ("+Inf", float(self.count))]


def _bound(value: float) -> str:
    return str(float(value))


class Registry:
    """This process's counters and histograms (thread-safe; labels are tuples of strings)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[str, Counter[tuple[str, ...]]] = {}
        self.histograms: dict[tuple[str, tuple[str, ...]], Histogram] = {}

    def inc(self, name: str, *labels: str, amount: int = 1) -> None:
        with self._lock:
            self.counters.setdefault(name, Counter())[labels] += amount

    def observe(self, name: str, value: float, buckets: Sequence[float], *labels: str) -> None:
        with self._lock:
            self.histograms.setdefault((name, labels), Histogram(buckets)).observe(value)

    def snapshot(self) -> tuple[dict[str, dict[tuple[str, ...], int]], dict[tuple[str, tuple[str, ...]], Histogram]]:
        with self._lock:
            counters = {name: dict(values) for name, values in self.counters.items()}
            histograms = {key: Histogram(h.buckets, list(h.counts), h.total, h.count)
                          for key, h in self.histograms.items()}
        return counters, histograms


REGISTRY = Registry()


# ----------------------------------------------------------------------------- what the code reports


def cycle_finished(duration_s: float, checked: int) -> None:
    """The checker finished a cycle (checker.py)."""
    REGISTRY.observe("cycle", duration_s, CYCLE_BUCKETS)
    REGISTRY.inc("cycle_checks", amount=checked)


def token_refresh(provider: str, outcome: str) -> None:
    """A token refresh was attempted: outcome "ok" or "failed" (connhub.health.check)."""
    REGISTRY.inc("token_refreshes", provider, outcome)


def vk_request(method: str) -> None:
    """One request to the VK API (connhub.providers.vk.api)."""
    REGISTRY.inc("vk_requests", method)


def vk_error(method: str, code: int | None) -> None:
    """VK answered an error (code None: transport trouble)."""
    REGISTRY.inc("vk_errors", method, "transport" if code is None else str(code))


def notice(outcome: str) -> None:
    """A notice to a user was sent ("sent") or could not be ("failed"): the notify lane calls this."""
    REGISTRY.inc("notices", outcome)


# ----------------------------------------------------------------------------- the database, at scrape time


@dataclass
class _Watermarks:
    """How far the counters derived from the database have read (since the exporter started)."""

    check_id: int | None = None
    runs: tuple[datetime | None, set[int]] = (None, set())
    jobs: tuple[datetime | None, set[int]] = (None, set())
    checks: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    run_outcomes: Counter[str] = field(default_factory=Counter)
    run_durations: dict[str, Histogram] = field(default_factory=dict)
    refresh_outcomes: Counter[str] = field(default_factory=Counter)
    refresh_durations: Histogram = field(default_factory=lambda: Histogram(RUN_BUCKETS))
    refresh_sizes: Histogram = field(default_factory=lambda: Histogram(SIZE_BUCKETS))


@dataclass(frozen=True)
class DatabaseFacts:
    connections: dict[tuple[str, str], int]
    due_checks: int
    due_lag_seconds: float
    catalog_jobs: dict[str, int]
    sync_runs: dict[str, int]
    heartbeats: int


class DatabaseReader:
    """Reads the gauges, and advances the database-derived counters, at each scrape."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.lock = threading.Lock()
        self.marks = _Watermarks()
        self.started_at: datetime | None = None

    def read(self) -> DatabaseFacts:
        from sqlalchemy import case, func, or_, select

        from connhub.models import (
            CatalogRefreshJob,
            CheckerHeartbeat,
            CheckRecord,
            Connection,
            RefreshState,
            SyncRun,
            SyncRunState,
            utcnow,
        )

        now = utcnow()
        with self.lock, self.rt.sessions() as session:
            if self.started_at is None:  # counters start at zero when the exporter starts
                self.started_at = now
                self.marks.check_id = session.scalar(select(func.max(CheckRecord.id))) or 0
                self.marks.runs = (now, set())
                self.marks.jobs = (now, set())
            due = (Connection.next_check_at <= now) & or_(Connection.lease_expires_at.is_(None),
                                                          Connection.lease_expires_at < now)
            connections: dict[tuple[str, str], int] = {}
            due_checks, oldest = 0, None
            for row in session.execute(select(
                    Connection.provider, Connection.status, func.count().label("n"),
                    func.sum(case((due, 1), else_=0)).label("due"),
                    func.min(case((due, Connection.next_check_at), else_=None)).label("oldest"))
                    .group_by(Connection.provider, Connection.status)):
                connections[(row.provider, row.status)] = int(row.n)
                due_checks += int(row.due or 0)
                if row.oldest is not None:
                    when = _aware(row.oldest)
                    oldest = when if oldest is None or when < oldest else oldest
            catalog = {state: n for state, n in session.execute(
                select(CatalogRefreshJob.state, func.count()).where(
                    CatalogRefreshJob.state.in_([RefreshState.QUEUED, RefreshState.RUNNING]))
                .group_by(CatalogRefreshJob.state))}
            active_runs = {state: n for state, n in session.execute(
                select(SyncRun.state, func.count()).where(
                    SyncRun.state.in_([SyncRunState.REQUESTED, SyncRunState.RUNNING]))
                .group_by(SyncRun.state))}
            heartbeats = session.scalar(select(func.count()).select_from(CheckerHeartbeat)) or 0

            # Counters: what was recorded since the last scrape.
            for provider, outcome, source, n, top in session.execute(
                    select(Connection.provider, CheckRecord.outcome, CheckRecord.source, func.count(),
                           func.max(CheckRecord.id))
                    .join(Connection, Connection.id == CheckRecord.connection_id)
                    .where(CheckRecord.id > (self.marks.check_id or 0))
                    .group_by(Connection.provider, CheckRecord.outcome, CheckRecord.source)):
                self.marks.checks[(provider, outcome, source)] += int(n)
                self.marks.check_id = max(self.marks.check_id or 0, int(top))
            since, seen = self.marks.runs
            finished = session.execute(
                select(SyncRun.id, SyncRun.state, SyncRun.finished_at, SyncRun.duration_ms)
                .where(SyncRun.finished_at >= since, SyncRun.dry_run.is_(False),
                       SyncRun.state.in_([SyncRunState.FINISHED, SyncRunState.STOPPED, SyncRunState.FAILED]))
            ).all()
            self.marks.runs = self._advance(since, seen, finished, self._count_run)
            since, seen = self.marks.jobs
            jobs = session.execute(
                select(CatalogRefreshJob.id, CatalogRefreshJob.state, CatalogRefreshJob.finished_at,
                       CatalogRefreshJob.duration_ms, CatalogRefreshJob.items_read)
                .where(CatalogRefreshJob.finished_at >= since)
            ).all()
            self.marks.jobs = self._advance(since, seen, jobs, self._count_job)
            session.rollback()
        lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        return DatabaseFacts(connections=connections, due_checks=due_checks, due_lag_seconds=lag,
                             catalog_jobs=catalog, sync_runs=active_runs, heartbeats=int(heartbeats))

    @staticmethod
    def _advance(since: datetime | None, seen: set[int], rows: Iterable[Any],
                 count: Any) -> tuple[datetime | None, set[int]]:
        """Count the rows not counted yet; the new watermark is the latest finish, with the ids at it."""
        latest, at_latest = since, set(seen)
        for row in rows:
            if row.id in seen:
                continue
            count(row)
            when = _aware(row.finished_at)
            if latest is None or when > latest:
                latest, at_latest = when, {row.id}
            elif when == latest:
                at_latest.add(row.id)
        return latest, at_latest

    def _count_run(self, row: Any) -> None:
        self.marks.run_outcomes[row.state] += 1
        if row.duration_ms is not None:
            self.marks.run_durations.setdefault(row.state, Histogram(RUN_BUCKETS)).observe(row.duration_ms / 1000)

    def _count_job(self, row: Any) -> None:
        self.marks.refresh_outcomes[row.state] += 1
        if row.duration_ms is not None:
            self.marks.refresh_durations.observe(row.duration_ms / 1000)
        if row.items_read is not None:
            self.marks.refresh_sizes.observe(row.items_read)


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# ----------------------------------------------------------------------------- the exporter


def families(reader: DatabaseReader | None, registry: Registry = REGISTRY) -> Iterator[Any]:
    """Every metric family of one scrape (prometheus_client's types; imported here, not at module load)."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

    facts = None
    if reader is not None:
        try:
            facts = reader.read()
        except Exception as exc:  # noqa: BLE001 - a scrape answers even when the database does not
            log.warning("metrics: reading the database failed: %s", type(exc).__name__)
    up = GaugeMetricFamily("connhub_database_up", "1 when this scrape could read connhub's database")
    up.add_metric([], 1.0 if facts is not None else 0.0)
    yield up
    if facts is not None and reader is not None:
        gauge = GaugeMetricFamily("connhub_connections", "Connections by provider and status",
                                  labels=["provider", "status"])
        for (provider, status), n in sorted(facts.connections.items()):
            gauge.add_metric([provider, status], n)
        yield gauge
        gauge = GaugeMetricFamily("connhub_due_checks", "Health checks due and not claimed by any sidecar")
        gauge.add_metric([], facts.due_checks)
        yield gauge
        gauge = GaugeMetricFamily("connhub_due_check_lag_seconds",
                                  "How long the oldest due, unclaimed health check has been waiting (0: none)")
        gauge.add_metric([], facts.due_lag_seconds)
        yield gauge
        gauge = GaugeMetricFamily("connhub_catalog_refresh_jobs", "Catalog refreshes queued or running",
                                  labels=["state"])
        for state in ("queued", "running"):
            gauge.add_metric([state], facts.catalog_jobs.get(state, 0))
        yield gauge
        gauge = GaugeMetricFamily("connhub_sync_runs_active", "Sync runs requested or running", labels=["state"])
        for state in ("requested", "running"):
            gauge.add_metric([state], facts.sync_runs.get(state, 0))
        yield gauge
        gauge = GaugeMetricFamily("connhub_sidecar_heartbeats", "Sidecars with a heartbeat row")
        gauge.add_metric([], facts.heartbeats)
        yield gauge
        marks = reader.marks
        counter = CounterMetricFamily("connhub_checks", "Health checks recorded since this exporter started",
                                      labels=["provider", "outcome", "source"])
        for labels, n in sorted(marks.checks.items()):
            counter.add_metric(list(labels), n)
        yield counter
        counter = CounterMetricFamily("connhub_sync_runs", "Sync runs finished since this exporter started",
                                      labels=["outcome"])
        for outcome in ("finished", "stopped", "failed"):
            counter.add_metric([outcome], marks.run_outcomes.get(outcome, 0))
        yield counter
        histogram = HistogramMetricFamily("connhub_sync_run_duration_seconds", "Duration of finished sync runs",
                                          labels=["outcome"])
        for outcome, h in sorted(marks.run_durations.items()):
            histogram.add_metric([outcome], h.exposition(), sum_value=h.total)
        yield histogram
        counter = CounterMetricFamily("connhub_catalog_refreshes", "Catalog refreshes finished since this exporter "
                                      "started", labels=["outcome"])
        for outcome in ("succeeded", "failed"):
            counter.add_metric([outcome], marks.refresh_outcomes.get(outcome, 0))
        yield counter
        histogram = HistogramMetricFamily("connhub_catalog_refresh_duration_seconds", "Duration of catalog refreshes")
        histogram.add_metric([], marks.refresh_durations.exposition(), sum_value=marks.refresh_durations.total)
        yield histogram
        histogram = HistogramMetricFamily("connhub_catalog_refresh_products", "Products read by a catalog refresh")
        histogram.add_metric([], marks.refresh_sizes.exposition(), sum_value=marks.refresh_sizes.total)
        yield histogram

    counters, histograms = registry.snapshot()
    described: tuple[tuple[str, str, str, list[str]], ...] = (
        ("token_refreshes", "connhub_token_refreshes", "Token refreshes by this process", ["provider", "outcome"]),
        ("vk_requests", "connhub_vk_requests", "VK API requests made by this process", ["method"]),
        ("vk_errors", "connhub_vk_errors", "VK API errors by method and VK error code (6: too many requests)",
         ["method", "code"]),
        ("notices", "connhub_notices", "Notices to users, sent or failed", ["outcome"]),
        ("cycle_checks", "connhub_cycle_checks", "Health checks made by this sidecar's cycles", []),
    )
    for key, name, help_text, label_names in described:
        counter = CounterMetricFamily(name, help_text, labels=label_names)
        values = counters.get(key, {})
        if key == "notices":
            values = {("sent",): 0, ("failed",): 0, **values}
        for label_values, n in sorted(values.items()):
            counter.add_metric(list(label_values), n)
        yield counter
    histogram = HistogramMetricFamily("connhub_cycle_duration_seconds", "Duration of this sidecar's check cycles")
    cycle = histograms.get(("cycle", ()), Histogram(CYCLE_BUCKETS))
    histogram.add_metric([], cycle.exposition(), sum_value=cycle.total)
    yield histogram


class _Collector:
    def __init__(self, reader: DatabaseReader | None) -> None:
        self.reader = reader

    def collect(self) -> Iterator[Any]:
        yield from families(self.reader)


def serve(rt: Runtime, *, port: int, address: str = "127.0.0.1") -> Any:
    """Start the /metrics endpoint in a daemon thread; returns the HTTP server (its `shutdown` stops it)."""
    from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)  # process_resident_memory_bytes, CPU seconds, open fds
    registry.register(_Collector(DatabaseReader(rt)))
    server, _thread = start_http_server(port, addr=address, registry=registry)
    log.info("metrics on http://%s:%d/metrics", address, port)
    return server
