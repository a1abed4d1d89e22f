"""The sidecar's /metrics endpoint (issue 21), served on METRICS_PORT when it is set (off by default).

Two sources, one scrape: the database at scrape time (`connhub.observe.database`) and this process's
counters (`connhub.metrics`), plus the process's own memory (`process_resident_memory_bytes`).
`prometheus_client` is imported only inside `families` and `serve`, so `import checker` stays lean.
A scrape that cannot read the database still answers, with `connhub_database_up 0` and the
in-process metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from connhub import metrics
from connhub.metrics import CYCLE_BUCKETS, Histogram, Registry
from connhub.observe.database import DatabaseReader

if TYPE_CHECKING:
    from connhub.runtime import Runtime

log = logging.getLogger("connhub.metrics")


def families(reader: DatabaseReader | None, registry: Registry | None = None) -> Iterator[Any]:
    """Every metric family of one scrape (prometheus_client's types; imported here, not at module load);
    `registry` defaults to this process's (`connhub.metrics.REGISTRY`, read at scrape time)."""
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

    counters, histograms = (registry or metrics.REGISTRY).snapshot()
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
