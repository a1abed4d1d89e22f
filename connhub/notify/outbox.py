"""The outbox: notices written in the transaction of the event that causes them, claimed once.

Life of a row: `pending` → claimed (lease_owner, lease_expires_at) → `sending_at` committed right
before the network call → `sent` | back to `pending` with a later `next_attempt_at` (temporary
failure) | `failed` (permanent failure: its channel is switched off) | `dropped` (its channel was
switched off meanwhile).

Claiming is a compare-and-swap (UPDATE ... WHERE state='pending' AND the lease is free or expired;
on PostgreSQL the candidates are picked `FOR UPDATE SKIP LOCKED`), so two sidecars never hold one
row. A sidecar killed after its claim but before `sending_at` leaves a row the next sidecar sends
once its lease expires. A sidecar killed between `sending_at` and `sent` leaves an ambiguous row:
it is sent again (at least once); that window is one send's deadline (docs/notifications.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from connhub.db import affected, write_locked
from connhub.journal.events import EventKind
from connhub.models import Connection, JournalEvent, NotifyChannel, NotifyOutbox, utcnow
from connhub.notify.messages import Message, compose
from connhub.notify.topics import BAD_STATUSES, CONNECTION_NOTICES, Notice, notice_for

PENDING, SENT, FAILED, DROPPED = "pending", "sent", "failed", "dropped"
FLAP_WINDOW = timedelta(hours=1)
FLAP_THRESHOLD = 4  # more status changes than this in FLAP_WINDOW: one «нестабильно» notice instead
REMINDER_EVERY = timedelta(hours=1)
LEASE = timedelta(minutes=2)  # longer than one send's deadline
MAX_ATTEMPTS = 8
KEEP_DONE = timedelta(days=30)  # sent, failed and dropped rows are pruned after this


def _channels(session: Session, user_id: int, topic: str) -> list[NotifyChannel]:
    rows = session.scalars(select(NotifyChannel).where(NotifyChannel.user_id == user_id,
                                                       NotifyChannel.enabled.is_(True))
                           .order_by(NotifyChannel.id)).all()
    return [row for row in rows if topic in (row.topics or [])]


def _add(session: Session, channel: NotifyChannel, message: Message, *, notice: Notice, event_id: int | None,
         connection_id: int | None, now: datetime) -> None:
    session.add(NotifyOutbox(channel_id=channel.id, event_id=event_id, connection_id=connection_id, notice=notice,
                             title=message.title[:255], body=message.body, link_path=message.link_path,
                             state=PENDING, attempts=0, created_at=now, next_attempt_at=now))


def status_changes(session: Session, connection_id: int, since: datetime) -> int:
    return session.scalar(select(func.count()).select_from(JournalEvent).where(
        JournalEvent.connection_id == connection_id, JournalEvent.kind == EventKind.STATUS_CHANGED,
        JournalEvent.at >= since)) or 0


def _recent_notice(session: Session, channel_id: int, connection_id: int, notices: Sequence[str],
                   since: datetime) -> bool:
    return session.scalar(select(NotifyOutbox.id).where(
        NotifyOutbox.channel_id == channel_id, NotifyOutbox.connection_id == connection_id,
        NotifyOutbox.notice.in_(list(notices)), NotifyOutbox.created_at >= since).limit(1)) is not None


def enqueue_for(session: Session, event: JournalEvent) -> int:
    """Write the notices `event` causes to the channels that want them; in the caller's transaction."""
    found = notice_for(event.kind, event.details)
    if found is None:
        return 0
    topic, notice = found
    channels = _channels(session, event.user_id, topic)
    if not channels:
        return 0
    account = ""
    if event.connection_id is not None:
        account = session.scalar(select(Connection.display_name).where(Connection.id == event.connection_id)) or ""
    flaps = 0
    if event.kind == EventKind.STATUS_CHANGED and event.connection_id is not None:
        flaps = status_changes(session, event.connection_id, event.at - FLAP_WINDOW)
    written = 0
    for channel in channels:
        if flaps > FLAP_THRESHOLD and event.connection_id is not None:
            if _recent_notice(session, channel.id, event.connection_id, [Notice.UNSTABLE], event.at - FLAP_WINDOW):
                continue
            message = compose(Notice.UNSTABLE, service=event.service, kind=event.kind, details=event.details,
                              at=event.at, account=account, flaps=flaps)
            _add(session, channel, message, notice=Notice.UNSTABLE, event_id=event.id,
                 connection_id=event.connection_id, now=event.at)
        else:
            message = compose(notice, service=event.service, kind=event.kind, details=event.details, at=event.at,
                              account=account)
            _add(session, channel, message, notice=notice, event_id=event.id, connection_id=event.connection_id,
                 now=event.at)
        written += 1
    return written


def enqueue_test(session: Session, channel: NotifyChannel) -> None:
    now = utcnow()
    _add(session, channel, compose(Notice.TEST, service="", kind="", details={}, at=now), notice=Notice.TEST,
         event_id=None, connection_id=None, now=now)


def enqueue_reminders(sessions: sessionmaker[Session], *, now: datetime | None = None) -> int:
    """For channels that asked for reminders: one per still-broken connection, at most hourly."""
    now = now or utcnow()
    written = 0
    with write_locked(sessions) as session:
        channels = session.scalars(select(NotifyChannel).where(
            NotifyChannel.enabled.is_(True), NotifyChannel.remind_hourly.is_(True)).with_for_update()).all()
        for channel in channels:
            if "connection_trouble" not in (channel.topics or []):
                continue
            broken = session.execute(select(Connection.id, Connection.provider, Connection.status,
                                            Connection.display_name).where(
                Connection.user_id == channel.user_id, Connection.status.in_(BAD_STATUSES))).all()
            for row in broken:
                if _recent_notice(session, channel.id, row.id, list(CONNECTION_NOTICES), now - REMINDER_EVERY):
                    continue
                since = session.scalar(select(func.max(JournalEvent.at)).where(
                    JournalEvent.connection_id == row.id, JournalEvent.kind == EventKind.STATUS_CHANGED)) or now
                message = compose(Notice.REMINDER, service=row.provider, kind="", details={"status": row.status},
                                  at=since, account=row.display_name)
                _add(session, channel, message, notice=Notice.REMINDER, event_id=None, connection_id=row.id, now=now)
                written += 1
        session.commit()
    return written


@dataclass(frozen=True)
class Claimed:
    id: int
    channel_id: int
    attempts: int
    title: str
    body: str
    link_path: str
    target_sealed: str
    channel_kind: str


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(NotifyOutbox.state == PENDING, NotifyOutbox.next_attempt_at <= now,
                or_(NotifyOutbox.lease_expires_at.is_(None), NotifyOutbox.lease_expires_at < now))


def has_due(sessions: sessionmaker[Session]) -> bool:
    now = utcnow()
    with sessions() as session:
        return session.scalar(select(NotifyOutbox.id).where(_due(now)).limit(1)) is not None


def claim(sessions: sessionmaker[Session], worker: str, *, limit: int = 20) -> list[Claimed]:
    """Lease up to `limit` due rows to `worker` (compare-and-swap; SKIP LOCKED on PostgreSQL)."""
    now = utcnow()
    table = cast(Table, NotifyOutbox.__table__)
    with sessions() as session:
        pick = select(NotifyOutbox.id).where(_due(now)).order_by(NotifyOutbox.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        ids = [row[0] for row in session.execute(
            update(table).where(table.c.id.in_(pick.scalar_subquery()), table.c.state == PENDING,
                                or_(table.c.lease_expires_at.is_(None), table.c.lease_expires_at < now))
            .values(lease_owner=worker, lease_expires_at=now + LEASE, sending_at=None)
            .returning(table.c.id)).all()]
        session.commit()
        if not ids:
            return []
        rows = session.execute(select(NotifyOutbox, NotifyChannel).join(
            NotifyChannel, NotifyChannel.id == NotifyOutbox.channel_id).where(NotifyOutbox.id.in_(ids))
            .order_by(NotifyOutbox.id)).all()
    return [Claimed(box.id, channel.id, box.attempts, box.title, box.body, box.link_path, channel.target_sealed,
                    channel.kind) for box, channel in rows]


def mark_sending(sessions: sessionmaker[Session], row_id: int, worker: str) -> bool:
    """Record that the send starts now; False when the claim was lost (do not send)."""
    now = utcnow()
    with sessions() as session:
        channel_on = session.scalar(select(NotifyChannel.enabled).join(
            NotifyOutbox, NotifyOutbox.channel_id == NotifyChannel.id).where(NotifyOutbox.id == row_id))
        if not channel_on:
            session.execute(update(NotifyOutbox).where(NotifyOutbox.id == row_id, NotifyOutbox.lease_owner == worker)
                            .values(state=DROPPED, lease_owner=None, lease_expires_at=None,
                                    last_error="Канал выключен"))
            session.commit()
            return False
        done = affected(session.execute(update(NotifyOutbox).where(
            NotifyOutbox.id == row_id, NotifyOutbox.lease_owner == worker, NotifyOutbox.state == PENDING,
            NotifyOutbox.lease_expires_at > now).values(sending_at=now, attempts=NotifyOutbox.attempts + 1)))
        session.commit()
    return done == 1


def mark_sent(sessions: sessionmaker[Session], row_id: int, worker: str) -> None:
    with sessions() as session:
        session.execute(update(NotifyOutbox).where(NotifyOutbox.id == row_id, NotifyOutbox.lease_owner == worker)
                        .values(state=SENT, sent_at=utcnow(), lease_owner=None, lease_expires_at=None,
                                last_error=""))
        session.commit()


def retry_delay(attempts: int) -> timedelta:
    """Backoff after a temporary failure: 10 s, 30 s, 90 s ... up to 1 h."""
    return timedelta(seconds=min(3600, 10 * 3 ** max(0, attempts - 1)))


def mark_retry(sessions: sessionmaker[Session], row_id: int, worker: str, *, attempts: int, error: str) -> None:
    gave_up = attempts >= MAX_ATTEMPTS
    with sessions() as session:
        session.execute(update(NotifyOutbox).where(NotifyOutbox.id == row_id, NotifyOutbox.lease_owner == worker)
                        .values(state=FAILED if gave_up else PENDING, lease_owner=None, lease_expires_at=None,
                                sending_at=None, next_attempt_at=utcnow() + retry_delay(attempts),
                                last_error=error[:500]))
        session.commit()


def mark_permanent(sessions: sessionmaker[Session], row_id: int, worker: str, *, channel_id: int,
                   reason: str) -> None:
    """The channel cannot work (bad address, bot blocked): switch it off, with the reason, and fail the row."""
    with sessions() as session:
        session.execute(update(NotifyOutbox).where(NotifyOutbox.id == row_id, NotifyOutbox.lease_owner == worker)
                        .values(state=FAILED, lease_owner=None, lease_expires_at=None, last_error=reason[:500]))
        session.execute(update(NotifyChannel).where(NotifyChannel.id == channel_id)
                        .values(enabled=False, disabled_reason=reason[:500]))
        session.execute(update(NotifyOutbox).where(NotifyOutbox.channel_id == channel_id,
                                                   NotifyOutbox.state == PENDING, NotifyOutbox.lease_owner.is_(None))
                        .values(state=DROPPED, last_error="Канал выключен"))
        session.commit()


def prune(sessions: sessionmaker[Session], *, now: datetime | None = None) -> int:
    """Delete finished rows (sent, failed, dropped) older than KEEP_DONE; the journal keeps the events."""
    cutoff = (now or utcnow()) - KEEP_DONE
    with sessions() as session:
        removed = affected(session.execute(delete(NotifyOutbox).where(
            NotifyOutbox.state.in_([SENT, FAILED, DROPPED]), NotifyOutbox.created_at < cutoff)))
        session.commit()
    return removed
