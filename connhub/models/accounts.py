"""Users, their connections, and the connections' health: checks, hourly and daily rollups, OAuth
flows in progress, and the sidecars' heartbeats."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from connhub.models.base import Base, UTCDateTime, utcnow


class Status(StrEnum):
    """What a connection's card shows."""

    NEVER_CHECKED = "never_checked"
    ONLINE = "online"
    OFFLINE = "offline"  # provider trouble for several checks in a row
    RECONNECT = "reconnect"  # the provider rejected the token: only the user can fix it


class AuthMethod(StrEnum):
    OAUTH = "oauth"
    TOKEN = "token"  # a token pasted by the user (Evotor cloud token)


class CheckSource(StrEnum):
    """What made a check record."""

    CHECKER = "checker"  # the checker's schedule
    MANUAL = "manual"  # «Проверить сейчас»
    CONNECT = "connect"  # a connect or reconnect, whose token was just verified


class Outcome(StrEnum):
    """What a check found."""

    OK = "ok"
    REJECTED = "rejected"  # the provider rejected the token: reconnect
    TROUBLE = "trouble"  # the provider (or the network) failed: retry


class AccessKind(StrEnum):
    """What the app serves to a browser session (see app.py)."""

    OK = "ok"  # a signed-in user (or the local operator)
    SIGN_IN = "sign_in"  # sign-in is configured and nobody is signed in
    LOCAL_REFUSED = "local_refused"  # no sign-in configured and not served on loopback only
    BAD_IDENTITY = "bad_identity"  # the sign-in provider sent no subject
    CONFIG_ERROR = "config_error"  # the settings are invalid


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), unique=True)  # OIDC `sub`, or "local"
    email: Mapped[str] = mapped_column(String(320), default="")
    name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    connections: Mapped[list[Connection]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Connection(Base):
    """One provider account of one user, with its tokens and its health."""

    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("user_id", "provider", name="uq_connections_user_id_provider"),
        Index("ix_connections_next_check_at", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    auth_method: Mapped[str] = mapped_column(String(16))  # an AuthMethod

    # The account behind the token: Evotor store id and name, VK user id and "First Last".
    account_id: Mapped[str] = mapped_column(String(64), default="")
    display_name: Mapped[str] = mapped_column(String(255), default="")
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # Tokens, sealed by connhub.crypto; never stored in clear.
    access_token_sealed: Mapped[str] = mapped_column(Text)
    refresh_token_sealed: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auth_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # e.g. VK device_id
    # Bumped whenever the tokens change (refresh, reconnect): a check's write-back names the
    # version it checked and is dropped if the tokens changed meanwhile.
    token_version: Mapped[int] = mapped_column(Integer, default=1)

    status: Mapped[str] = mapped_column(String(16), default=Status.NEVER_CHECKED)  # a Status
    status_reason: Mapped[str] = mapped_column(String(500), default="")
    is_online: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_successes: Mapped[int] = mapped_column(Integer, default=0)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_latency_ms: Mapped[int | None] = mapped_column(Integer)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A checker's claim on the row while its check is in flight.
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A token refresh in flight: who claimed it and until when. The provider is called outside any
    # transaction; the new tokens are stored only if the claim still holds (connhub.health.check).
    refresh_claim: Mapped[str | None] = mapped_column(String(64))
    refresh_claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="connections")
    checks: Mapped[list[CheckRecord]] = relationship(
        back_populates="connection", cascade="all, delete-orphan", passive_deletes=True
    )


class CheckRecord(Base):
    """One health check's result: the history on a service page."""

    __tablename__ = "check_records"
    __table_args__ = (
        Index("ix_check_records_connection_id_checked_at", "connection_id", "checked_at"),
        Index("ix_check_records_checked_at", "checked_at"),  # retention pruning
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16))  # a CheckSource
    outcome: Mapped[str] = mapped_column(String(16))  # an Outcome
    status_after: Mapped[str] = mapped_column(String(16))  # a Status
    reason: Mapped[str] = mapped_column(String(500), default="")
    latency_ms: Mapped[int | None] = mapped_column(Integer)

    connection: Mapped[Connection] = relationship(back_populates="checks")


class RollupPeriod(StrEnum):
    HOUR = "hour"
    DAY = "day"


class CheckRollup(Base):
    """One connection's checks in one hour or one day (connhub.health.history): kept for
    HISTORY_ROLLUP_DAYS, after the raw check records (HISTORY_RAW_DAYS) are gone."""

    __tablename__ = "check_rollups"
    __table_args__ = (Index("ix_check_rollups_period_bucket_start", "period", "bucket_start"),)  # pruning

    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)  # a RollupPeriod
    bucket_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    checks: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)  # checks whose outcome was not ok
    worst_status: Mapped[str] = mapped_column(String(16))  # the worst Status a check left behind
    p50_ms: Mapped[int | None] = mapped_column(Integer)  # None: no check measured a latency
    p95_ms: Mapped[int | None] = mapped_column(Integer)


class OAuthFlow(Base):
    """An authorization begun by a user: single use, bound to the user and the provider."""

    __tablename__ = "oauth_flows"

    state: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    code_verifier_sealed: Mapped[str] = mapped_column(Text)
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CheckerHeartbeat(Base):
    """Proof of life of one checker process, shown on the dashboard."""

    __tablename__ = "checker_heartbeats"

    checker_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    last_cycle: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
