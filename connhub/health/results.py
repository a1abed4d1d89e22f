"""Claiming due connections and writing check results back.

Claiming (`claim_due`) takes due connections with a lease (UPDATE ... WHERE id IN (SELECT ...
FOR UPDATE SKIP LOCKED) on PostgreSQL, one atomic UPDATE on SQLite; `connhub.work.claims`), so several checkers can
share one database without checking a connection twice.

Writing (`apply_results`) reads the rows locked and updates them in the same transaction, and
keeps only results whose token version still matches: a connection deleted or reconnected while
its check was in flight is left alone, and a concurrent write is never overwritten with a
decision made from stale counters. `apply_results` is the only code that writes a check's result.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from connhub.db import write_locked
from connhub.health.check import UNREADABLE_TOKEN, CheckTarget
from connhub.health.policy import CheckResult, decide, jittered, regular_check_at, retry_delay_seconds
from connhub.journal import hooks as journal_hooks
from connhub.models import CheckRecord, CheckSource, Connection, Outcome, Status, utcnow
from connhub.providers import Account, text
from connhub.runtime import Runtime
from connhub.work.claims import claimable

log = logging.getLogger("connhub.health")

LEASE = timedelta(minutes=5)


def claim_due(rt: Runtime, *, worker_id: str, due_before: datetime, limit: int) -> list[CheckTarget]:
    """Lease up to `limit` connections due by `due_before` (and not leased by anyone) to `worker_id`."""
    now = utcnow()
    due = (
        select(Connection.id)
        .where(or_(Connection.next_check_at.is_(None), Connection.next_check_at <= due_before),
               or_(Connection.lease_expires_at.is_(None), Connection.lease_expires_at < now))
        .order_by(Connection.next_check_at)
        .limit(limit)
    )
    due = claimable(due, rt.engine)
    table = cast(Table, Connection.__table__)
    with rt.sessions() as session:
        rows = session.execute(
            update(table).where(table.c.id.in_(due.scalar_subquery()))
            .values(lease_owner=worker_id, lease_expires_at=now + LEASE)
            .returning(table.c.id, table.c.provider, table.c.token_version, table.c.access_token_sealed,
                       table.c.refresh_token_sealed, table.c.token_expires_at, table.c.auth_params,
                       table.c.profile)
        ).all()
        session.commit()
    # Unpacked by position: a Row's attributes looked up by name were a tenth of the claim's CPU.
    return [CheckTarget(id_, provider, version, access, refresh, expires, dict(auth or {}), dict(profile or {}))
            for id_, provider, version, access, refresh, expires, auth, profile in rows]


def record_check(session: Session, connection_id: int, when: datetime, *, source: CheckSource, outcome: Outcome,
                 status_after: str, reason: str, latency_ms: int | None) -> None:
    session.add(CheckRecord(connection_id=connection_id, checked_at=when, source=source, outcome=outcome,
                            status_after=status_after, reason=reason, latency_ms=latency_ms))


@dataclass(frozen=True)
class Applied:
    written: int
    dropped: int  # results for connections deleted or reconnected meanwhile
    statuses: Counter[str]  # the status each written connection ended in
    unreadable: int = 0  # tokens our key cannot open: status left alone, only rescheduled

    def __add__(self, other: Applied) -> Applied:
        return Applied(self.written + other.written, self.dropped + other.dropped, self.statuses + other.statuses,
                       self.unreadable + other.unreadable)


SAVE_FAILED_REASON = "Результат проверки не удалось сохранить, повторим позже"


def apply_results(rt: Runtime, results: Sequence[CheckResult], *, source: CheckSource,
                  rng: random.Random | None = None) -> Applied:
    """Write check results, in one transaction when all goes well.

    The rows are read locked (FOR UPDATE on PostgreSQL, the write lock on SQLite), decided
    from their current state and updated in the same transaction, so no other write can slip
    in between. A result whose token version no longer matches is dropped.

    If the batch cannot be written (a database constraint, a value the driver refuses), it is
    split in halves and each half is written on its own, down to single results; a single result
    that still cannot be written is recorded as trouble without what the provider sent, and if
    even that fails its claim is released. So one bad row never holds the others, and no
    connection waits out its lease for someone else's fault.
    """
    if not results:
        return Applied(0, 0, Counter())
    rng = rng or random.Random()
    try:
        return _write(rt, results, source=source, rng=rng)
    except DBAPIError as exc:
        if len(results) > 1:
            middle = len(results) // 2
            return (apply_results(rt, results[:middle], source=source, rng=rng)
                    + apply_results(rt, results[middle:], source=source, rng=rng))
        failed = results[0]
        log.error("writing the result of connection %s failed: %s", failed.connection_id, _db_error(exc))
    if failed.outcome is Outcome.OK or failed.code != "save_failed":
        fallback = replace(failed, outcome=Outcome.TROUBLE, reason=SAVE_FAILED_REASON, code="save_failed",
                           account=None, latency_ms=None)
        try:
            return _write(rt, [fallback], source=source, rng=rng)
        except DBAPIError as exc:
            log.error("writing a fallback result for connection %s failed too: %s", failed.connection_id,
                      _db_error(exc))
    defer(rt, [failed.connection_id], rng=rng)
    return Applied(0, 0, Counter())


def _db_error(exc: DBAPIError) -> str:
    original = exc.orig if exc.orig is not None else exc
    return f"{type(original).__name__}: {text.clean(original, 200)}"


def _unchanged(account: Account, row: Any) -> bool:
    """Whether a check found the account exactly as stored. What is stored is clean and cleaning
    changes nothing clean, so an equal account needs no cleaning, no merge and no journal entry."""
    return bool(account.account_id == row.account_id and account.display_name == row.display_name
                and account.profile == row.profile)


def _write(rt: Runtime, results: Sequence[CheckResult], *, source: CheckSource, rng: random.Random) -> Applied:
    interval = rt.settings.HEALTH_CHECK_INTERVAL_SECONDS
    table = cast(Table, Connection.__table__)
    by_id = {result.connection_id: result for result in results}
    ok_updates: list[dict[str, Any]] = []
    same_account_updates: list[dict[str, Any]] = []
    other_updates: list[dict[str, Any]] = []
    unreadable_updates: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    with write_locked(rt.sessions) as session:
        current = session.execute(
            select(table.c.id, table.c.user_id, table.c.provider, table.c.token_version, table.c.status,
                   table.c.status_reason,
                   table.c.consecutive_failures, table.c.consecutive_successes, table.c.profile,
                   table.c.account_id, table.c.display_name)
            .where(table.c.id.in_(list(by_id))).order_by(table.c.id).with_for_update()
        ).all()
        for row in current:
            result = by_id[row.id]
            if row.token_version != result.token_version:
                continue
            if result.code == UNREADABLE_TOKEN:  # our key's fault: the card keeps what it showed
                unreadable_updates.append(dict(b_id=row.id, lease_owner=None, lease_expires_at=None,
                                               next_check_at=regular_check_at(row.id, result.checked_at, interval)))
                journal_hooks.token_unreadable(session, connection_id=row.id, source=source)  # lane notify
                continue
            decision = decide(Status(row.status), row.consecutive_failures, row.consecutive_successes, result,
                              interval=interval, rng=rng)
            reason = text.clean(row.status_reason if decision.reason is None else decision.reason, 500)
            journal_hooks.status_changed(session, user_id=row.user_id, provider=row.provider, connection_id=row.id,
                                         old=row.status, new=decision.status, reason=reason, source=source)  # notify
            values: dict[str, Any] = dict(
                b_id=row.id, status=decision.status, status_reason=reason,
                is_online=decision.status is Status.ONLINE,
                consecutive_failures=decision.consecutive_failures,
                consecutive_successes=decision.consecutive_successes,
                next_check_at=decision.next_check_at, last_checked_at=result.checked_at,
                lease_owner=None, lease_expires_at=None,
            )
            if result.outcome is Outcome.OK and result.account is not None and _unchanged(result.account, row):
                # What was stored is the cleaned form of this very account: nothing to clean or rewrite.
                values.update(last_success_at=result.checked_at, last_latency_ms=result.latency_ms)
                same_account_updates.append(values)
            elif result.outcome is Outcome.OK and result.account is not None:
                account = text.clean_account(result.account)
                values.update(last_success_at=result.checked_at, last_latency_ms=result.latency_ms,
                              account_id=account.account_id, display_name=account.display_name,
                              profile=rt.providers.get(row.provider).merged_profile(dict(row.profile or {}),
                                                                                      account.profile))
                journal_hooks.rights_changed(session, user_id=row.user_id, provider=row.provider, connection_id=row.id,
                                             before=dict(row.profile or {}), after=values["profile"], source=source)
                ok_updates.append(values)
            else:
                other_updates.append(values)
            records.append(dict(connection_id=row.id, checked_at=result.checked_at, source=source,
                                outcome=result.outcome, status_after=decision.status, reason=reason,
                                latency_ms=result.latency_ms))
        for updates in (ok_updates, same_account_updates, other_updates, unreadable_updates):
            if updates:
                columns: dict[str, Any] = {key: bindparam(key) for key in updates[0] if key != "b_id"}
                session.execute(update(table).where(table.c.id == bindparam("b_id")).values(columns), updates)
        if records:
            session.execute(insert(cast(Table, CheckRecord.__table__)), records)
        session.commit()
    return Applied(len(records), len(results) - len(records) - len(unreadable_updates),
                   Counter(str(r["status_after"]) for r in records), len(unreadable_updates))


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


