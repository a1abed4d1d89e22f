"""The checker's cycle: claim what is due, check it on a bounded thread pool, write in batches.

When no provider is reachable at all, the checker assumes its own network is down and defers
transport failures instead of counting them.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from connhub import ratelimit
from connhub.crypto import UnreadableToken
from connhub.health import check as checking
from connhub.health.check import CheckTarget
from connhub.health.policy import CheckResult
from connhub.health.results import apply_results, claim_due, defer
from connhub.models import CheckSource, Outcome, utcnow
from connhub.providers import http
from connhub.providers.registry import UnknownProvider
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
    cpu_s: float = 0.0  # the process's CPU over the cycle, every thread's

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "written": self.written, "dropped": self.dropped,
                "deferred": self.deferred, "unreadable": self.unreadable, "by_status": dict(self.by_status),
                "duration_s": round(self.duration_s, 3), "cpu_s": round(self.cpu_s, 3)}


def _finished(finished: queue.SimpleQueue[Future[Any]], *, timeout: float) -> list[Future[Any]]:
    """The futures that finished: at least one unless `timeout` passes first, and all that are waiting."""
    try:
        batch = [finished.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            batch.append(finished.get_nowait())
        except queue.Empty:
            return batch


def reserve_turns(rt: Runtime, targets: list[CheckTarget]) -> list[CheckTarget]:
    """Take the turns the claimed checks need in shared rate limits (VK: 3 requests a second per
    token) together, in one transaction, instead of a transaction (and a wait for it) per check.
    The targets come back with their access tokens opened, which the checks use."""
    turns: list[tuple[str, float]] = []
    opened: list[CheckTarget] = []
    for target in targets:
        try:
            token = rt.cipher.open(target.access_token_sealed)
            turn = rt.providers.get(target.provider).health_check_turn(token)
        except (UnreadableToken, UnknownProvider):
            opened.append(target)  # the check reports it
            continue
        if turn is not None:
            turns.append(turn)
        opened.append(replace(target, access_token=token))
    ratelimit.reserve(turns)
    return opened


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
    started, cpu_started = time.perf_counter(), time.process_time()
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
            # Finished checks announce themselves here: waiting on all 2×concurrency futures at each
            # turn (`concurrent.futures.wait`) cost the loop a tenth of the cycle's CPU.
            finished: queue.SimpleQueue[Future[CheckResult | None | _NotStarted]] = queue.SimpleQueue()
            exhausted = False
            while True:
                if not exhausted and not stop.is_set() and len(in_flight) < concurrency * 2:
                    claimed = reserve_turns(rt, claim_due(rt, worker_id=worker_id, due_before=due_before,
                                                          limit=concurrency * 4 - len(in_flight)))
                    claimed_ids.update(target.id for target in claimed)
                    exhausted = not claimed
                    for target in claimed:
                        future = pool.submit(check_unless_stopped, target)
                        in_flight[future] = target
                        future.add_done_callback(finished.put)
                if not in_flight:
                    break
                if stop.is_set():
                    unstarted = [in_flight.pop(fut).id for fut in list(in_flight) if fut.cancel()]
                    defer(rt, unstarted, rng=rng)
                    claimed_ids.difference_update(unstarted)
                not_started: list[int] = []
                for future in _finished(finished, timeout=0.5):
                    if future not in in_flight:  # cancelled above
                        continue
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
    stats.cpu_s = time.process_time() - cpu_started
    return stats


