"""The pages' services for connections: what they ask and «Проверить сейчас».

Every query is scoped to the signed-in user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connhub.crypto import UnreadableToken
from connhub.health.check import CheckTarget, check_connection
from connhub.health.history_views import CardHistory, ServiceHistory, card_histories, empty_history, service_history
from connhub.health.housekeeping import CheckerStatus, checker_status
from connhub.health.results import apply_results
from connhub.journal import hooks as journal_hooks
from connhub.models import CheckRecord, CheckSource, Connection, Outcome, Status
from connhub.providers import PROVIDER_INFO, ProviderInfo
from connhub.runtime import Runtime
from connhub.users import UserView, ensure_user


@dataclass(frozen=True)
class ConnectionView:
    id: int
    provider: str
    title: str
    icon: str
    auth_method: str
    status: Status
    status_reason: str
    details: str  # the store name for Evotor, "First Last" for VK
    account_id: str
    profile: dict[str, Any]
    consecutive_failures: int
    consecutive_successes: int
    last_checked_at: datetime | None
    last_success_at: datetime | None
    last_latency_ms: int | None
    next_check_at: datetime | None
    created_at: datetime

    @property
    def is_online(self) -> bool:
        return self.status == Status.ONLINE


@dataclass(frozen=True)
class CheckView:
    checked_at: datetime
    source: CheckSource
    outcome: Outcome
    status_after: Status
    reason: str
    latency_ms: int | None


def to_view(row: Connection) -> ConnectionView:
    info = PROVIDER_INFO[row.provider]
    return ConnectionView(
        id=row.id,
        provider=row.provider,
        title=info.title,
        icon=info.icon,
        auth_method=row.auth_method,
        status=Status(row.status),
        status_reason=row.status_reason,
        details=row.display_name,
        account_id=row.account_id,
        profile=dict(row.profile or {}),
        consecutive_failures=row.consecutive_failures,
        consecutive_successes=row.consecutive_successes,
        last_checked_at=row.last_checked_at,
        last_success_at=row.last_success_at,
        last_latency_ms=row.last_latency_ms,
        next_check_at=row.next_check_at,
        created_at=row.created_at,
    )


def list_for_user(session: Session, user_id: int) -> list[ConnectionView]:
    """The user's connections in the fixed card order, in one query."""
    rows = session.scalars(select(Connection).where(Connection.user_id == user_id)).all()
    order = {key: position for position, key in enumerate(PROVIDER_INFO)}
    views = [to_view(row) for row in rows if row.provider in PROVIDER_INFO]
    return sorted(views, key=lambda view: order[view.provider])


def dashboard(session: Session, user_id: int, *, now: datetime | None = None
              ) -> list[tuple[ConnectionView, CardHistory]]:
    """The dashboard's cards: each connection with its 24-hour bar and 30-day availability, in a
    fixed number of statements (connhub.health.history_views)."""
    bars = card_histories(session, user_id, now=now)
    return [(view, bars.get(view.id) or empty_history(now=now)) for view in list_for_user(session, user_id)]


def get_for_user(session: Session, user_id: int, provider: str) -> ConnectionView | None:
    row = session.scalar(
        select(Connection).where(Connection.user_id == user_id, Connection.provider == provider)
    )
    return to_view(row) if row is not None else None


def available_providers(session: Session, user_id: int) -> list[ProviderInfo]:
    """The provider types the user has not connected yet."""
    connected = set(session.scalars(select(Connection.provider).where(Connection.user_id == user_id)))
    return [info for key, info in PROVIDER_INFO.items() if key not in connected]


def delete_for_user(session: Session, user_id: int, connection_id: int) -> ConnectionView | None:
    """Delete the connection, its tokens and history; None if it is not this user's. Runs inside the
    caller's write transaction (`db.execute_write`), which commits."""
    row = session.scalar(
        select(Connection).where(Connection.id == connection_id, Connection.user_id == user_id)
    )
    if row is None:
        return None
    view = to_view(row)
    journal_hooks.connection_deleted(session, user_id=user_id, provider=row.provider, connection_id=connection_id,
                                     account=row.display_name)  # lane notify
    # The tokens go with the row; its check records follow by ON DELETE CASCADE.
    session.execute(
        delete(Connection).where(Connection.id == connection_id, Connection.user_id == user_id)
    )
    return view


def connected_since(session: Session, user_id: int, provider: str, since: datetime) -> ConnectionView | None:
    """The user's connection to the provider if it was (re)connected at or after `since`: whether a
    flow begun then has landed."""
    row = session.scalar(
        select(Connection).where(
            Connection.user_id == user_id, Connection.provider == provider,
            select(CheckRecord.id).where(
                CheckRecord.connection_id == Connection.id, CheckRecord.source == CheckSource.CONNECT,
                CheckRecord.checked_at >= since,
            ).exists(),
        )
    )
    return to_view(row) if row is not None else None


def recent_checks(session: Session, user_id: int, connection_id: int, limit: int = 20) -> list[CheckView]:
    rows = session.scalars(
        select(CheckRecord)
        .join(Connection, Connection.id == CheckRecord.connection_id)
        .where(CheckRecord.connection_id == connection_id, Connection.user_id == user_id)
        .order_by(CheckRecord.checked_at.desc(), CheckRecord.id.desc())
        .limit(limit)
    ).all()
    return [
        CheckView(
            checked_at=row.checked_at,
            source=CheckSource(row.source),
            outcome=Outcome(row.outcome),
            status_after=Status(row.status_after),
            reason=row.reason,
            latency_ms=row.latency_ms,
        )
        for row in rows
    ]


def check_now(rt: Runtime, *, user_id: int, connection_id: int) -> ConnectionView | None:
    """«Проверить сейчас»: the checker's check and write path, for one of the user's connections."""
    with rt.sessions() as session:
        row = session.scalar(select(Connection).where(Connection.id == connection_id, Connection.user_id == user_id))
        if row is None:
            return None
        target = CheckTarget.of(row, known=False)  # «Проверить сейчас» asks everything afresh
    result = check_connection(rt, target)
    if result is not None:
        apply_results(rt, [result], source=CheckSource.MANUAL)
    with rt.sessions() as session:
        row = session.scalar(select(Connection).where(Connection.id == connection_id, Connection.user_id == user_id))
        return to_view(row) if row is not None else None


def unreadable_tokens(rt: Runtime, user_id: int) -> int:
    """How many of the user's connections hold a token the configured key cannot open.

    Not zero means the encryption key changed (or the key file was replaced): our fault, not the
    user's, so the dashboard says so instead of asking them to reconnect."""
    with rt.sessions() as session:
        sealed = session.scalars(select(Connection.access_token_sealed).where(Connection.user_id == user_id)).all()
    count = 0
    for value in sealed:
        try:
            rt.cipher.open(value)
        except UnreadableToken:
            count += 1
    return count


# ----------------------------------------------------------------------------- the pages' door
# The pages call these (never a Session): each opens its own session for one read or one write.


def views_for_user(rt: Runtime, user_id: int) -> list[ConnectionView]:
    with rt.sessions() as session:
        return list_for_user(session, user_id)


def view_for_provider(rt: Runtime, user_id: int, provider: str) -> ConnectionView | None:
    with rt.sessions() as session:
        return get_for_user(session, user_id, provider)


def dashboard_for(rt: Runtime, user_id: int) -> list[tuple[ConnectionView, CardHistory]]:
    with rt.sessions() as session:
        return dashboard(session, user_id)


def history_for(rt: Runtime, user_id: int, connection_id: int) -> ServiceHistory:
    with rt.sessions() as session:
        return service_history(session, user_id, connection_id)


def checks_for(rt: Runtime, user_id: int, connection_id: int, limit: int = 20) -> list[CheckView]:
    with rt.sessions() as session:
        return recent_checks(session, user_id, connection_id, limit=limit)


def addable_providers(rt: Runtime, user_id: int) -> list[ProviderInfo]:
    with rt.sessions() as session:
        return available_providers(session, user_id)


def connected_after(rt: Runtime, user_id: int, provider: str, since: datetime) -> ConnectionView | None:
    with rt.sessions() as session:
        return connected_since(session, user_id, provider, since)


def checker_state(rt: Runtime) -> CheckerStatus:
    """Whether the sidecar is alive (the dashboard's banner)."""
    with rt.sessions() as session:
        return checker_status(session, interval_seconds=rt.settings.HEALTH_CHECK_INTERVAL_SECONDS)


def signed_in(rt: Runtime, *, subject: str, email: str, name: str) -> UserView:
    """The app's user for a sign-in (created on the first one)."""
    with rt.sessions() as session:
        return ensure_user(session, subject=subject, email=email, name=name)
