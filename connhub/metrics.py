"""This process's Prometheus counters (issue 21): the ground floor, so the providers can count through it.

In-process counters where the database has nothing: this sidecar's cycles (duration, checks), token
refreshes, VK requests and VK error 6 by method, notices sent and failed (the notify lane increments
`notice`). What the database holds, read at scrape time, and the /metrics endpoint live one floor up,
in `connhub.observe` (the checker serves them when METRICS_PORT is set).

This module is plain Python and never imports `prometheus_client`, so `import checker` stays lean and
the counters cost a dict update when nobody scrapes.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

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
    """One request to the goods provider's API (its client in connhub/providers/)."""
    REGISTRY.inc("vk_requests", method)


def vk_error(method: str, code: int | None) -> None:
    """VK answered an error (code None: transport trouble)."""
    REGISTRY.inc("vk_errors", method, "transport" if code is None else str(code))


def notice(outcome: str) -> None:
    """A notice to a user was sent ("sent") or could not be ("failed"): the notify lane calls this."""
    REGISTRY.inc("notices", outcome)
