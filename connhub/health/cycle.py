"""The checker's cycle: claim what is due, check it on a bounded thread pool, write in batches.

When no provider is reachable at all, the checker assumes its own network is down and defers
transport failures instead of counting them.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import requests

from connhub.health import check as checking
from connhub.health.policy import CheckResult
from connhub.health.results import apply_results, claim_due, defer
from connhub.models import CheckSource, Outcome, utcnow
from connhub.runtime import Runtime

log = logging.getLogger("connhub.health")

TRANSPORT_CODES = {"connection", "timeout", "transport"}


@dataclass
class CycleStats:
    checked: int = 0
    written: int = 0
    dropped: int = 0  # deleted or reconnected while in flight
    deferred: int = 0  # transport failures while no provider was reachable
    by_status: Counter[str] = field(default_factory=Counter)
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "written": self.written, "dropped": self.dropped,
                "deferred": self.deferred, "by_status": dict(self.by_status),
                "duration_s": round(self.duration_s, 3)}


def providers_reachable(rt: Runtime) -> bool:
    """Whether any provider answers at all: an unauthenticated call to each API, where any HTTP
    status counts. If none answers, the problem is on our side of the network, and no
    connection should pay for it."""
    for url in (provider.probe_url() for provider in rt.providers.all()):
        try:
            requests.get(url, timeout=min(3.0, rt.settings.HTTP_TIMEOUT_SECONDS), allow_redirects=False)
            return True
        except requests.RequestException:
            continue
    return False


def run_cycle(rt: Runtime, *, worker_id: str, stop: threading.Event | None = None,
              concurrency: int | None = None, rng: random.Random | None = None,
              flush_every: int = 200) -> CycleStats:
    """Check every connection that is due now, then return. Safe to run in several processes."""
    rng = rng or random.Random()
    stop = stop or threading.Event()
    concurrency = concurrency or rt.settings.CHECKER_CONCURRENCY
    stats = CycleStats()
    started = time.perf_counter()
    due_before = utcnow()
    buffer: list[CheckResult] = []

    def flush() -> None:
        if not buffer:
            return
        results = list(buffer)
        buffer.clear()
        transport = [r for r in results if r.outcome is Outcome.TROUBLE and r.code in TRANSPORT_CODES]
        if transport and len(transport) == len(results) and not providers_reachable(rt):
            log.warning("no provider is reachable: our network looks down; deferring %d checks", len(transport))
            defer(rt, (r.connection_id for r in transport), rng=rng)
            stats.deferred += len(transport)
            return
        applied = apply_results(rt, results, source=CheckSource.CHECKER, rng=rng)
        stats.written += applied.written
        stats.dropped += applied.dropped
        stats.by_status.update(applied.statuses)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="check") as pool:
        in_flight: dict[Future[CheckResult | None], int] = {}
        exhausted = False
        while True:
            if not exhausted and not stop.is_set() and len(in_flight) < concurrency * 2:
                claimed = claim_due(rt, worker_id=worker_id, due_before=due_before,
                                    limit=concurrency * 4 - len(in_flight))
                exhausted = not claimed
                for target in claimed:
                    in_flight[pool.submit(checking.check_connection, rt, target)] = target.id
            if not in_flight:
                break
            if stop.is_set():
                unstarted = [fut for fut in in_flight if fut.cancel()]
                defer(rt, (in_flight.pop(fut) for fut in unstarted), rng=rng)
            done, _ = wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                in_flight.pop(future)
                result = future.result()
                stats.checked += 1
                if result is None:
                    stats.dropped += 1
                    continue
                buffer.append(result)
            if len(buffer) >= flush_every or (buffer and (exhausted or stop.is_set())):
                flush()
        flush()
    stats.duration_s = time.perf_counter() - started
    return stats


