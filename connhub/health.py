"""Connection health: one check, the policy that turns results into a status, and a cycle.

The checker (checker.py) and the dashboard's «Проверить сейчас» both come through here:
`check_connection` is the only code that checks a connection and `apply_results` the only
code that writes a check's result.

A check
  1. opens the stored tokens; if the access token expires within the provider's margin and
     there is a refresh token, refreshes first (`refresh_tokens`: single-flight, see there);
  2. calls the provider's account endpoint and times it;
  3. if the provider rejects the access token and a refresh might cure it (VK error 5),
     refreshes once and retries;
  4. returns a `CheckResult` naming the token version it used. It writes nothing else.

The policy (`decide`), with hysteresis so one blip never paints a card red:
  - a rejection of the token (reconnect needed) flips at once and is not retried quickly;
  - provider trouble flips an online connection to offline only after FAILURE_THRESHOLD
    failures in a row, retried sooner with exponential backoff (never later than the interval,
    never earlier than the provider's Retry-After);
  - offline (or reconnect) goes back to online only after RECOVERY_THRESHOLD successes in a row;
  - a never-checked connection goes online on its first success;
  - regular checks land on each connection's own slot of the interval (`regular_check_at`),
    which spreads the checks evenly over the interval instead of all at once.

Writing (`apply_results`) reads the rows locked and updates them in the same transaction, and
keeps only results whose token version still matches: a connection deleted or reconnected while
its check was in flight is left alone, and a concurrent write is never overwritten with a
decision made from stale counters.

A cycle (`run_cycle`) claims due connections with a lease (UPDATE ... WHERE id IN (SELECT ...
FOR UPDATE SKIP LOCKED) on PostgreSQL, one atomic UPDATE on SQLite), so several checkers can
share one database without checking a connection twice; checks run on a bounded thread pool
and results are written in batches. When no provider is reachable at all, the checker assumes
its own network is down and defers transport failures instead of counting them.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from connhub.connections import ConnectionView, to_view
from connhub.crypto import Secret, UnreadableToken
from connhub.db import write_locked
from connhub.models import CheckerHeartbeat, CheckRecord, Connection, Status, utcnow
from connhub.providers import Account, Provider, ProviderError, TokenSet, http
from connhub.runtime import Runtime

log = logging.getLogger(__name__)

FAILURE_THRESHOLD = 3
RECOVERY_THRESHOLD = 2
JITTER = 0.1  # retries land at delay x [0.9, 1.1], so failures of one outage do not retry in lockstep
LEASE = timedelta(minutes=5)
HISTORY_RETENTION = timedelta(days=7)
TRANSPORT_CODES = {"connection", "timeout", "transport"}


class Outcome(StrEnum):
    OK = "ok"
    REJECTED = "rejected"  # the provider rejected the token: reconnect
    TROUBLE = "trouble"  # the provider (or the network) failed: retry


@dataclass(frozen=True)
class CheckTarget:
    """What a check needs to know about a connection, read before the check."""

    id: int
    provider: str
    token_version: int
    access_token_sealed: str
    refresh_token_sealed: str | None
    token_expires_at: datetime | None
    auth_params: dict[str, Any]

    @classmethod
    def of(cls, row: Any) -> CheckTarget:
        return cls(row.id, row.provider, row.token_version, row.access_token_sealed, row.refresh_token_sealed,
                   row.token_expires_at, dict(row.auth_params or {}))


@dataclass(frozen=True)
class CheckResult:
    connection_id: int
    token_version: int  # the version of the tokens this result speaks for
    outcome: Outcome
    reason: str
    code: str
    checked_at: datetime
    latency_ms: int | None = None
    account: Account | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class Decision:
    status: Status
    reason: str | None  # None: keep the current reason
    consecutive_failures: int
    consecutive_successes: int
    next_check_at: datetime


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


class ConnectionGone(Exception):
    """The connection was deleted while we worked on it."""


# ----------------------------------------------------------------------------- the policy

def jittered(seconds: float, rng: random.Random) -> timedelta:
    return timedelta(seconds=seconds * rng.uniform(1 - JITTER, 1 + JITTER))


def regular_check_at(connection_id: int, now: datetime, interval: float) -> datetime:
    """The next regular check: at the connection's own slot within the interval.

    Each connection gets a stable phase in [0, interval) from a hash of its id, and is checked
    at the next occurrence of that phase at least half an interval from now. Connections are
    thus spread evenly over the interval, even right after a backlog (first start, or a checker
    outage) was checked all at once, and in steady state each one is checked once per interval.
    """
    phase = (connection_id * 2654435761 % 2**32) / 2**32 * interval  # Knuth's multiplicative hash
    moment = now.timestamp()
    slot = moment - moment % interval + phase
    while slot < moment + interval / 2:
        slot += interval
    return datetime.fromtimestamp(slot, UTC)


def retry_delay_seconds(failures: int, interval: float) -> float:
    """Backoff for provider trouble: interval/8, /4, /2, then the interval itself."""
    return min(interval, interval / 8 * 2 ** max(0, failures - 1))


def decide(status: Status, failures: int, successes: int, result: CheckResult, *, interval: float,
           rng: random.Random) -> Decision:
    now = result.checked_at
    regular = regular_check_at(result.connection_id, now, interval)
    if result.outcome is Outcome.OK:
        successes += 1
        if status in (Status.ONLINE, Status.NEVER_CHECKED) or successes >= RECOVERY_THRESHOLD:
            return Decision(Status.ONLINE, "", 0, successes, regular)
        reason = f"Связь восстанавливается: успешная проверка {successes} из {RECOVERY_THRESHOLD}"
        return Decision(status, reason, 0, successes, now + jittered(retry_delay_seconds(1, interval), rng))

    if result.outcome is Outcome.REJECTED:
        return Decision(Status.RECONNECT, result.reason, failures + 1, 0, regular)

    failures += 1
    delay = retry_delay_seconds(failures, interval)
    if result.retry_after:
        delay = max(delay, min(result.retry_after, interval))
    retry_at = now + jittered(delay, rng)
    if status is Status.RECONNECT:  # trouble says nothing about a rejected token: keep the verdict
        return Decision(status, None, failures, 0, regular)
    if status is Status.OFFLINE or failures >= FAILURE_THRESHOLD:
        return Decision(Status.OFFLINE, result.reason, failures, 0, retry_at)
    reason = f"Проверка не удалась ({failures} из {FAILURE_THRESHOLD}): {result.reason}"
    return Decision(status, reason, failures, 0, retry_at)


def initial_health(now: datetime) -> dict[str, Any]:
    """Health fields of a connection whose token was verified just now (connect, reconnect).

    Its next check is set once its id is known: `regular_check_at`."""
    return dict(
        status=Status.ONLINE, status_reason="", is_online=True, consecutive_failures=0,
        consecutive_successes=1, last_checked_at=now, last_success_at=now,
    )


# ----------------------------------------------------------------------------- one check

_refresh_locks: weakref.WeakValueDictionary[int, threading.Lock] = weakref.WeakValueDictionary()
_refresh_locks_guard = threading.Lock()


def _process_lock(connection_id: int) -> threading.Lock:
    with _refresh_locks_guard:
        lock = _refresh_locks.get(connection_id)
        if lock is None:
            lock = threading.Lock()
            _refresh_locks[connection_id] = lock
        return lock


def _tokens(rt: Runtime, access: str, refresh: str | None, expires_at: datetime | None,
            auth_params: dict[str, Any]) -> TokenSet:
    return TokenSet(
        access_token=rt.cipher.open(access),
        refresh_token=rt.cipher.open(refresh) if refresh else None,
        expires_at=expires_at,
        auth_params=dict(auth_params or {}),
    )


def refresh_tokens(rt: Runtime, provider: Provider, connection_id: int, seen_version: int) -> tuple[TokenSet, int]:
    """Refresh one connection's tokens, single-flight across threads and processes.

    Threads of one process queue on a per-connection lock; processes queue on the database
    (row lock on PostgreSQL, the write lock on SQLite). Under the lock the row is re-read:
    if its token version moved past the one we saw, someone else refreshed (or the user
    reconnected) and we use their tokens instead of spending the refresh token again.
    """
    with _process_lock(connection_id), write_locked(rt.sessions) as session:
        row = session.scalar(select(Connection).where(Connection.id == connection_id).with_for_update())
        if row is None:
            raise ConnectionGone(connection_id)
        current = _tokens(rt, row.access_token_sealed, row.refresh_token_sealed, row.token_expires_at,
                          row.auth_params)
        if row.token_version != seen_version:
            session.rollback()
            return current, row.token_version
        fresh = provider.refresh(current)  # raises ProviderError; the transaction rolls back
        row.access_token_sealed = rt.cipher.seal(fresh.access_token)
        row.refresh_token_sealed = rt.cipher.seal(fresh.refresh_token) if fresh.refresh_token else None
        row.token_expires_at = fresh.expires_at
        row.auth_params = dict(fresh.auth_params)
        row.token_version += 1
        version = row.token_version
        session.commit()
    log.info("tokens refreshed: connection=%s provider=%s", connection_id, provider.info.key)
    return fresh, version


def check_connection(rt: Runtime, target: CheckTarget, *, clock: Callable[[], datetime] = utcnow) -> CheckResult | None:
    """Check one connection. None when it vanished meanwhile (nothing to report)."""
    provider = rt.providers.get(target.provider)
    version = target.token_version
    latency_ms: int | None = None
    try:
        tokens = _tokens(rt, target.access_token_sealed, target.refresh_token_sealed, target.token_expires_at,
                         target.auth_params)
        if tokens.refresh_token and provider.token_is_stale(tokens.expires_at, clock()):
            tokens, version = refresh_tokens(rt, provider, target.id, version)
        started = time.perf_counter()
        try:
            account = provider.fetch_account(tokens.access_token)
        except ProviderError as exc:
            if not (tokens.refresh_token and provider.is_rejection_of_access_token(exc)):
                raise
            tokens, version = refresh_tokens(rt, provider, target.id, version)
            started = time.perf_counter()
            account = provider.fetch_account(tokens.access_token)
        latency_ms = round((time.perf_counter() - started) * 1000)
    except ProviderError as exc:
        outcome = Outcome.REJECTED if exc.permanent else Outcome.TROUBLE
        return CheckResult(target.id, version, outcome, exc.reason, exc.code, clock(), latency_ms,
                           retry_after=exc.retry_after)
    except UnreadableToken:
        return CheckResult(target.id, version, Outcome.REJECTED,
                           "Токен не расшифровывается текущим ключом — подключите заново", "unreadable_token", clock())
    except ConnectionGone:
        return None
    return CheckResult(target.id, version, Outcome.OK, "", "ok", clock(), latency_ms, account=account)


# ----------------------------------------------------------------------------- writing results

def record_check(session: Session, connection_id: int, when: datetime, *, source: str, outcome: Outcome,
                 status_after: str, reason: str, latency_ms: int | None) -> None:
    session.add(CheckRecord(connection_id=connection_id, checked_at=when, source=source, outcome=outcome,
                            status_after=status_after, reason=reason, latency_ms=latency_ms))


@dataclass(frozen=True)
class Applied:
    written: int
    dropped: int  # results for connections deleted or reconnected meanwhile
    statuses: Counter[str]  # the status each written connection ended in


def apply_results(rt: Runtime, results: Sequence[CheckResult], *, source: str,
                  rng: random.Random | None = None) -> Applied:
    """Write check results in one transaction.

    The rows are read locked (FOR UPDATE on PostgreSQL, the write lock on SQLite), decided
    from their current state and updated in the same transaction, so no other write can slip
    in between. A result whose token version no longer matches is dropped.
    """
    if not results:
        return Applied(0, 0, Counter())
    rng = rng or random.Random()
    interval = rt.settings.HEALTH_CHECK_INTERVAL_SECONDS
    table = Connection.__table__
    by_id = {result.connection_id: result for result in results}
    ok_updates: list[dict[str, Any]] = []
    other_updates: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    with write_locked(rt.sessions) as session:
        current = session.execute(
            select(table.c.id, table.c.token_version, table.c.status, table.c.status_reason,
                   table.c.consecutive_failures, table.c.consecutive_successes)
            .where(table.c.id.in_(list(by_id))).order_by(table.c.id).with_for_update()
        ).all()
        for row in current:
            result = by_id[row.id]
            if row.token_version != result.token_version:
                continue
            decision = decide(Status(row.status), row.consecutive_failures, row.consecutive_successes, result,
                              interval=interval, rng=rng)
            reason = (row.status_reason if decision.reason is None else decision.reason)[:500]
            values: dict[str, Any] = dict(
                b_id=row.id, status=decision.status, status_reason=reason,
                is_online=decision.status is Status.ONLINE,
                consecutive_failures=decision.consecutive_failures,
                consecutive_successes=decision.consecutive_successes,
                next_check_at=decision.next_check_at, last_checked_at=result.checked_at,
                lease_owner=None, lease_expires_at=None,
            )
            if result.outcome is Outcome.OK and result.account is not None:
                values.update(last_success_at=result.checked_at, last_latency_ms=result.latency_ms,
                              account_id=result.account.account_id, display_name=result.account.display_name,
                              profile=result.account.profile)
                ok_updates.append(values)
            else:
                other_updates.append(values)
            records.append(dict(connection_id=row.id, checked_at=result.checked_at, source=source,
                                outcome=result.outcome, status_after=decision.status, reason=reason,
                                latency_ms=result.latency_ms))
        for updates in (ok_updates, other_updates):
            if updates:
                columns = {key: bindparam(key) for key in updates[0] if key != "b_id"}
                session.execute(update(table).where(table.c.id == bindparam("b_id")).values(columns), updates)
        if records:
            session.execute(insert(CheckRecord.__table__), records)
        session.commit()
    return Applied(len(records), len(results) - len(records), Counter(str(r["status_after"]) for r in records))


def defer(rt: Runtime, connection_ids: Iterable[int], *, rng: random.Random) -> None:
    """Release claimed connections unchecked, to be retried soon; their health is untouched."""
    ids = list(connection_ids)
    if not ids:
        return
    delay = retry_delay_seconds(1, rt.settings.HEALTH_CHECK_INTERVAL_SECONDS)
    with rt.sessions() as session:
        session.execute(
            update(Connection).where(Connection.id.in_(ids))
            .values(lease_owner=None, lease_expires_at=None, next_check_at=utcnow() + jittered(delay, rng))
            .execution_options(synchronize_session=False)
        )
        session.commit()


# ----------------------------------------------------------------------------- manual check

def check_now(rt: Runtime, *, user_id: int, connection_id: int) -> ConnectionView | None:
    """«Проверить сейчас»: the checker's check and write path, for one of the user's connections."""
    with rt.sessions() as session:
        row = session.scalar(select(Connection).where(Connection.id == connection_id, Connection.user_id == user_id))
        if row is None:
            return None
        target = CheckTarget.of(row)
    result = check_connection(rt, target)
    if result is not None:
        apply_results(rt, [result], source="manual")
    with rt.sessions() as session:
        row = session.scalar(select(Connection).where(Connection.id == connection_id, Connection.user_id == user_id))
        return to_view(row) if row is not None else None


# ----------------------------------------------------------------------------- the cycle

def claim_due(rt: Runtime, *, worker_id: str, due_before: datetime, limit: int) -> list[CheckTarget]:
    now = utcnow()
    due = (
        select(Connection.id)
        .where(or_(Connection.next_check_at.is_(None), Connection.next_check_at <= due_before),
               or_(Connection.lease_expires_at.is_(None), Connection.lease_expires_at < now))
        .order_by(Connection.next_check_at)
        .limit(limit)
    )
    if rt.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    table = Connection.__table__
    with rt.sessions() as session:
        rows = session.execute(
            update(table).where(table.c.id.in_(due.scalar_subquery()))
            .values(lease_owner=worker_id, lease_expires_at=now + LEASE)
            .returning(table.c.id, table.c.provider, table.c.token_version, table.c.access_token_sealed,
                       table.c.refresh_token_sealed, table.c.token_expires_at, table.c.auth_params)
        ).all()
        session.commit()
    return [CheckTarget.of(row) for row in rows]


def providers_reachable(rt: Runtime) -> bool:
    """Whether any provider answers at all: an unauthenticated call to each API, where any HTTP
    status counts. If none answers, the problem is on our side of the network, and no
    connection should pay for it."""
    probes = (f"{rt.settings.EVOTOR_API_URL}/stores", f"{rt.settings.VK_API_URL}/method/users.get")
    return any(http.answers(url, timeout=min(3.0, rt.settings.HTTP_TIMEOUT_SECONDS)) for url in probes)


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
        applied = apply_results(rt, results, source="checker", rng=rng)
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
                    in_flight[pool.submit(check_connection, rt, target)] = target.id
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


# ----------------------------------------------------------------------------- housekeeping

def beat(rt: Runtime, *, checker_id: str, started_at: datetime, last_cycle: dict[str, Any] | None = None) -> None:
    now = utcnow()
    with write_locked(rt.sessions) as session:
        row = session.get(CheckerHeartbeat, checker_id)
        if row is None:
            row = CheckerHeartbeat(checker_id=checker_id, started_at=started_at, last_beat_at=now,
                                   interval_seconds=rt.settings.HEALTH_CHECK_INTERVAL_SECONDS,
                                   last_cycle=last_cycle or {})
            session.add(row)
        else:
            row.last_beat_at = now
            if last_cycle is not None:
                row.last_cycle = last_cycle
        session.commit()


@dataclass(frozen=True)
class CheckerStatus:
    last_beat_at: datetime | None
    stale: bool


def checker_status(session: Session, *, interval_seconds: int, now: datetime | None = None) -> CheckerStatus:
    now = now or utcnow()
    last = session.scalar(select(func.max(CheckerHeartbeat.last_beat_at)))
    stale = last is None or now - last > timedelta(seconds=2 * interval_seconds)
    return CheckerStatus(last_beat_at=last, stale=stale)


def prune_history(rt: Runtime, *, now: datetime | None = None, batch: int = 5000) -> int:
    """Drop check records past retention (a bounded batch per call) and long-silent heartbeats."""
    now = now or utcnow()
    with rt.sessions() as session:
        old = select(CheckRecord.id).where(CheckRecord.checked_at < now - HISTORY_RETENTION).limit(batch)
        removed = session.execute(
            delete(CheckRecord).where(CheckRecord.id.in_(old.scalar_subquery()))
            .execution_options(synchronize_session=False)
        ).rowcount
        session.execute(delete(CheckerHeartbeat).where(CheckerHeartbeat.last_beat_at < now - timedelta(days=7)))
        session.commit()
    return removed or 0
