"""The one-call hooks other modules make into the journal, each inside the caller's transaction.

Each hook is one line in the code path that causes the event (health results, connect/disconnect,
sync configuration, runs, catalog refreshes), so those files carry no journal logic of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connhub.db import write_locked
from connhub.journal import events
from connhub.journal.events import CHECK_NOW, CHECKER, SCHEDULE, Actor, ActorKind, EventKind
from connhub.journal.record import record
from connhub.models import Connection, JournalEvent, SyncConfig, SyncRun, User, utcnow

UNREADABLE_EVERY = timedelta(hours=24)


def check_actor(source: str) -> Actor:
    return CHECK_NOW if source == "manual" else CHECKER


def user_actor(session: Session, user_id: int) -> Actor:
    user = session.get(User, user_id)
    return Actor.user(user.email or user.name or user.subject) if user is not None else Actor(ActorKind.USER)


def status_changed(session: Session, *, user_id: int, provider: str, connection_id: int, old: str, new: str,
                   reason: str, source: str) -> None:
    if old != new:
        record(session, events.status_changed(user_id, provider, connection_id, check_actor(source), old=old,
                                              new=new, reason=reason))


def _rights(profile: Mapping[str, Any]) -> dict[str, bool]:
    raw = profile.get("rights")
    return {str(k): v for k, v in raw.items() if isinstance(v, bool)} if isinstance(raw, Mapping) else {}


def rights_changed(session: Session, *, user_id: int, provider: str, connection_id: int,
                   before: Mapping[str, Any], after: Mapping[str, Any], source: str) -> None:
    """A right known before and known now whose answer changed (`profile["rights"]`: name → bool)."""
    old, new = _rights(before), _rights(after)
    common = old.keys() & new.keys()
    granted = sorted(name for name in common if new[name] and not old[name])
    missing = sorted(name for name in common if old[name] and not new[name])
    if granted or missing:
        record(session, events.rights_changed(user_id, provider, connection_id, check_actor(source),
                                              granted=", ".join(granted), missing=", ".join(missing)))


def token_unreadable(session: Session, *, connection_id: int, source: str) -> None:
    """At most once a day per connection: every check of it finds the same."""
    row = session.get(Connection, connection_id)
    if row is None:
        return
    recent = session.scalar(select(JournalEvent.id).where(
        JournalEvent.connection_id == connection_id, JournalEvent.kind == EventKind.TOKEN_UNREADABLE,
        JournalEvent.at >= utcnow() - UNREADABLE_EVERY).limit(1))
    if recent is None:
        record(session, events.token_unreadable(row.user_id, row.provider, connection_id, check_actor(source)))


def connection_saved(session: Session, *, user_id: int, provider: str, connection_id: int, account: str,
                     reconnected: bool) -> None:
    was = ""
    if reconnected:
        last = session.execute(select(JournalEvent.kind, JournalEvent.details).where(
            JournalEvent.connection_id == connection_id,
            JournalEvent.kind.in_([EventKind.STATUS_CHANGED, EventKind.CONNECTED, EventKind.RECONNECTED]))
            .order_by(JournalEvent.at.desc(), JournalEvent.id.desc()).limit(1)).first()
        if last is not None and last.kind == EventKind.STATUS_CHANGED:
            was = str((last.details or {}).get("new") or "")
    record(session, events.connected(user_id, provider, connection_id, user_actor(session, user_id),
                                     account=account, reconnected=reconnected, was=was))


def connection_deleted(session: Session, *, user_id: int, provider: str, connection_id: int, account: str) -> None:
    record(session, events.disconnected(user_id, provider, connection_id, user_actor(session, user_id),
                                        account=account))


def sync_switched(session: Session, *, user_id: int, on: bool, confirmed_by: str = "",
                  confirmed: str = "") -> None:
    actor = Actor.user(confirmed_by) if confirmed_by else user_actor(session, user_id)
    record(session, events.sync_switched(user_id, actor, on=on, confirmed=confirmed))


def settings_changed(session: Session, *, user_id: int, before: Mapping[str, object],
                     after: Mapping[str, object]) -> None:
    changes = {name: (before.get(name), value) for name, value in after.items() if before.get(name) != value}
    if changes:
        record(session, events.settings_changed(user_id, user_actor(session, user_id), changes))


def rules_changed(session: Session, *, user_id: int, store_id: str, added: bool, mode: str,
                  targets: Sequence[tuple[str, str]]) -> None:
    """One event per call: a single target by name, several by their count."""
    if not targets:
        return
    kind, name = targets[0]
    if len(targets) > 1:
        name = f"{targets[0][1]} и ещё {len(targets) - 1}"
    record(session, events.rule_changed(user_id, user_actor(session, user_id), added=added, mode=str(mode),
                                        target_kind=str(kind), target_name=name, store_id=store_id))


RUN_COUNTS = ("total", "added", "changed", "hidden", "deleted", "unchanged", "failed", "skipped")


def run_ended(session: Session, run: SyncRun) -> None:
    if run.trigger == "schedule":
        actor = SCHEDULE
    else:
        kind = {"cron": ActorKind.CRON, "manual": ActorKind.CRON, "page": ActorKind.USER}.get(run.trigger,
                                                                                             ActorKind.ADMIN)
        actor = Actor(kind, run.triggered_by[:320])
    record(session, events.run_ended(run.user_id, actor, state=run.state, run_id=run.id, dry_run=run.dry_run,
                                     counts={name: int(getattr(run, name) or 0) for name in RUN_COUNTS},
                                     reason=run.stop_reason))


def catalog_job_ended(session: Session, *, connection_id: int, failed: bool, reason: str, source: str) -> None:
    """On the edge only: the first failure after a success (or none), the first success after a failure."""
    row = session.get(Connection, connection_id)
    if row is None:
        return
    last = session.scalar(select(JournalEvent.kind).where(
        JournalEvent.connection_id == connection_id,
        JournalEvent.kind.in_([EventKind.CATALOG_REFRESH_FAILED, EventKind.CATALOG_REFRESH_RECOVERED]))
        .order_by(JournalEvent.at.desc(), JournalEvent.id.desc()).limit(1))
    was_failing = last == EventKind.CATALOG_REFRESH_FAILED
    if failed == was_failing:
        return
    actor = SCHEDULE if source == "schedule" else user_actor(session, row.user_id)
    record(session, events.catalog_refresh(row.user_id, row.provider, connection_id, actor, failed=failed,
                                           reason=reason))


SYNC_SETTINGS = {
    "evotor_store_name": "магазин", "vk_group_name": "сообщество", "vk_category_name": "категория",
    "on_removed": "снятые с продажи", "on_not_for_sale": "не для продажи", "on_zero_price": "нулевая цена",
    "price_multiplier": "наценка", "description_template": "описание",
}


def sync_settings_of(row: object) -> dict[str, object]:
    """The sync settings a person would name, by their Russian label (for «old → new»)."""
    return {label: getattr(row, name) for name, label in SYNC_SETTINGS.items()}


def note_stale_syncs(sessions: sessionmaker[Session], *, after: timedelta, now: datetime | None = None) -> int:
    """«Устарела»: a switched-on sync with no finished run for `after` gets one RUN_STALE event (and its
    notices), again only after a run finished since. The sidecar calls this every few seconds."""
    now = now or utcnow()
    written = 0
    with write_locked(sessions) as session:
        configs = session.execute(select(SyncConfig.user_id, SyncConfig.confirmed_at).where(
            SyncConfig.enabled.is_(True)).with_for_update()).all()
        for user_id, confirmed_at in configs:
            last_run = session.scalar(select(func.max(SyncRun.finished_at)).where(
                SyncRun.user_id == user_id, SyncRun.dry_run.is_(False)))
            since = max(filter(None, [last_run, confirmed_at]), default=None)
            if since is None or now - since < after:
                continue
            told = session.scalar(select(JournalEvent.id).where(
                JournalEvent.user_id == user_id, JournalEvent.kind == EventKind.RUN_STALE,
                JournalEvent.at >= since).limit(1))
            if told is None:
                record(session, events.run_stale(user_id, SCHEDULE, hours=int((now - since).total_seconds() // 3600)))
                written += 1
        session.commit()
    return written
