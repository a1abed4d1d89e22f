"""Journal and notifications (issue 18): typed events, each user's channels, and the outbox the
sidecar sends from. An outbox row is written in the transaction of the event that causes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from connhub.models.base import Base, UTCDateTime, utcnow


class JournalEvent(Base):
    """One thing that happened, typed (`kind` is a connhub.journal.kinds.EventKind); never a secret."""

    __tablename__ = "journal_events"
    __table_args__ = (
        Index("ix_journal_events_user_id_at", "user_id", "at"),
        Index("ix_journal_events_connection_id_at", "connection_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    actor_kind: Mapped[str] = mapped_column(String(16))  # an ActorKind
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    service: Mapped[str] = mapped_column(String(32))  # a provider key, "sync" or "catalog"
    connection_id: Mapped[int | None] = mapped_column(Integer)  # kept after the connection is deleted
    kind: Mapped[str] = mapped_column(String(48))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class NotifyChannel(Base):
    """Where one user's notices go: an Apprise URL (sealed: it carries secrets) and the kinds it wants."""

    __tablename__ = "notify_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # email | telegram | apprise
    label: Mapped[str] = mapped_column(String(255), default="")  # shown on the page; no secret in it
    target_sealed: Mapped[str] = mapped_column(Text)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)  # connhub.notify.topics.Topic values
    remind_hourly: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotifyOutbox(Base):
    """One notice for one channel: pending → (claimed) → sent | failed | dropped."""

    __tablename__ = "notify_outbox"
    __table_args__ = (
        Index("ix_notify_outbox_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_notify_outbox_channel_id_connection_id", "channel_id", "connection_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("notify_channels.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("journal_events.id", ondelete="SET NULL"))
    connection_id: Mapped[int | None] = mapped_column(Integer)
    notice: Mapped[str] = mapped_column(String(32))  # a connhub.notify.messages.Notice
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    link_path: Mapped[str] = mapped_column(String(64), default="")  # the page, under PUBLIC_URL
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set (committed) right before the send
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
