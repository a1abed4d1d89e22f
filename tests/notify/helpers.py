"""Driving a connection's health through the real write path, and reading the outbox."""

from __future__ import annotations

import random

from sqlalchemy import select

from connhub.health.policy import CheckResult
from connhub.health.results import apply_results
from connhub.models import CheckSource, Connection, NotifyOutbox, Outcome, utcnow
from connhub.runtime import Runtime


def check(rt: Runtime, connection_id: int, outcome: Outcome, *, source: CheckSource = CheckSource.CHECKER) -> str:
    """One check result written as the checker writes it; the status after it."""
    with rt.sessions() as session:
        row = session.get(Connection, connection_id)
        assert row is not None
        version = row.token_version
    reason = {Outcome.OK: "", Outcome.REJECTED: "Доступ отозван", Outcome.TROUBLE: "Сервис не ответил"}[outcome]
    apply_results(rt, [CheckResult(connection_id, version, outcome, reason, "", utcnow())], source=source,
                  rng=random.Random(1))
    with rt.sessions() as session:
        return session.get(Connection, connection_id).status  # type: ignore[union-attr]


def notices(rt: Runtime) -> list[NotifyOutbox]:
    with rt.sessions() as session:
        return list(session.scalars(select(NotifyOutbox).order_by(NotifyOutbox.id)).all())


def flap(rt: Runtime, connection_id: int, changes: int) -> None:
    """`changes` status changes: online → reconnect (one rejection) → online (two successes) ..."""
    for index in range(changes):
        if index % 2 == 0:
            assert check(rt, connection_id, Outcome.REJECTED) == "reconnect"
        else:
            check(rt, connection_id, Outcome.OK)
            assert check(rt, connection_id, Outcome.OK) == "online"
