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

from connhub.health import check as checking
from connhub.health.check import CheckTarget
from connhub.health.policy import CheckResult
from connhub.health.results import apply_results, claim_due, defer
from connhub.models import CheckSource, Outcome, utcnow
from connhub.providers import http
from connhub.runtime import Runtime

log = logging.getLogger("connhub.health")

TRANSPORT_CODES = {"connection", "timeout", "transport"}


class _NotStarted:
    """What a pool worker returns for a check it picked up after the stop request: nothing ran."""


NOT_STARTED = _NotStarted()


@dataclass
class CycleStats:
    checked: int = 0
    written: int = 0
    dropped: int = 0  # deleted or reconnected while in flight
    deferred: int = 0  # transport failures while no provider was reachable
    unreadable: int = 0  # tokens the configured key cannot open (status left alone)
    by_status: Counter[str] = field(default_factory=Counter)
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "written": self.written, "dropped": self.dropped,
                "deferred": self.deferred, "unreadable": self.unreadable, "by_status": dict(self.by_status),
                "duration_s": round(self.duration_s, 3)}


def providers_reachable(rt: Runtime) -> bool:
    """Whether any provider answers at all: an unauthenticated call to each API, where any HTTP
    status counts. If none answers, the problem is on our side of the network, and no
    connection should pay for it."""
    timeout = min(3.0, rt.settings.HTTP_TIMEOUT_SECONDS)
    return any(http.answers(provider.probe_url(), timeout=timeout) for provider in rt.providers.all())


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

    claimed_ids: set[int] = set()  # claimed and not yet written or released

    def flush() -> None:
        if not buffer:
            return
        results = list(buffer)
        buffer.clear()
        transport = [r for r in results if r.outcome is Outcome.TROUBLE and r.code in TRANSPORT_CODES]
        if transport and len(transport) == len(results) and not providers_reachable(rt):
            log.warning("no provider is reachable: our network looks down; deferring %d checks", len(transport))
            defer(rt, (r.connection_id for r in transport), rng=rng)
            claimed_ids.difference_update(r.connection_id for r in transport)
            stats.deferred += len(transport)
            return
        applied = apply_results(rt, results, source=CheckSource.CHECKER, rng=rng)
        claimed_ids.difference_update(r.connection_id for r in results)
        stats.written += applied.written
        stats.dropped += applied.dropped
        stats.unreadable += applied.unreadable
        stats.by_status.update(applied.statuses)

    def check_unless_stopped(target: CheckTarget) -> CheckResult | None | _NotStarted:
        # A worker that finishes one check picks up the next before the loop below can cancel it,
        # so the stop request is honoured here too: nothing starts after it.
        if stop.is_set():
            return NOT_STARTED
        return checking.check_connection(rt, target)

    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="check") as pool:
            in_flight: dict[Future[CheckResult | None | _NotStarted], CheckTarget] = {}
            exhausted = False
            while True:
                if not exhausted and not stop.is_set() and len(in_flight) < concurrency * 2:
                    claimed = claim_due(rt, worker_id=worker_id, due_before=due_before,
                                        limit=concurrency * 4 - len(in_flight))
                    claimed_ids.update(target.id for target in claimed)
                    exhausted = not claimed
                    for target in claimed:
                        in_flight[pool.submit(check_unless_stopped, target)] = target
                if not in_flight:
                    break
                if stop.is_set():
                    unstarted = [in_flight.pop(fut).id for fut in list(in_flight) if fut.cancel()]
                    defer(rt, unstarted, rng=rng)
                    claimed_ids.difference_update(unstarted)
                done, _ = wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
                not_started: list[int] = []
                for future in done:
                    target = in_flight.pop(future)
                    try:
                        result = future.result()
                    except Exception as exc:  # noqa: BLE001 - check_connection reports its own faults; belt and braces
                        log.error("check failed: connection=%s error=%s", target.id, type(exc).__name__)
                        result = CheckResult(target.id, target.token_version, Outcome.TROUBLE,
                                             checking.CHECK_FAILED_REASON, "check_failed", utcnow())
                    if isinstance(result, _NotStarted):
                        not_started.append(target.id)
                        continue
                    stats.checked += 1
                    if result is None:
                        stats.dropped += 1
                        claimed_ids.discard(target.id)
                        continue
                    buffer.append(result)
                if not_started:
                    defer(rt, not_started, rng=rng)
                    claimed_ids.difference_update(not_started)
                if len(buffer) >= flush_every or (buffer and (exhausted or stop.is_set())):
                    flush()
            flush()
    finally:
        if claimed_ids:  # the cycle failed half-way: give back what it still holds
            try:
                defer(rt, sorted(claimed_ids), rng=rng)
            except Exception as exc:  # noqa: BLE001 - the original error is the one to report
                log.error("releasing %d claimed connections failed: %s", len(claimed_ids), type(exc).__name__)
    if stats.unreadable:
        log.error("%d connection(s) have tokens that the configured encryption key cannot open: the key "
                  "(CONNHUB_SECRET_KEY or data/secret.key) changed. Their status is left as it was. Restore the "
                  "key they were sealed with (listing it after the new one is enough), or ask their users to "
                  "reconnect.", stats.unreadable)
    stats.duration_s = time.perf_counter() - started
    return stats


