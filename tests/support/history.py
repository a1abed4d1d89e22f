"""Connections and check records written straight into the database, for the history's tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert

from connhub.models import CheckRecord, Connection, Outcome, Status
from connhub.runtime import Runtime
from tests.support.connect import make_user


def bare_connections(rt: Runtime, subject: str, count: int, *, providers: tuple[str, ...] = ("evotor", "vk")
                     ) -> list[int]:
    """`count` connections (placeholder tokens nobody calls with), one user per len(providers) of them."""
    ids: list[int] = []
    for n in range(0, count, len(providers)):
        user = make_user(rt, f"{subject}-{n}")
        with rt.sessions() as session:
            for provider in providers[:count - n]:
                row = Connection(user_id=user.id, provider=provider, auth_method="oauth",
                                 access_token_sealed="placeholder", refresh_token_sealed=None,
                                 status=Status.ONLINE)
                session.add(row)
                session.flush()
                ids.append(row.id)
            session.commit()
    return ids


def add_checks(rt: Runtime, connection_id: int, checks: list[tuple[datetime, Outcome, Status, int | None]]) -> None:
    rows: list[dict[str, Any]] = [
        dict(connection_id=connection_id, checked_at=when, source="checker", outcome=outcome, status_after=status,
             reason="", latency_ms=latency) for when, outcome, status, latency in checks]
    with rt.sessions() as session:
        session.execute(insert(cast(Table, CheckRecord.__table__)), rows)
        session.commit()
