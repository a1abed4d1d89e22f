"""The administrators' one door (issue 21): every connection and sync of every user, the sidecars'
heartbeats, and «Проверить сейчас» / «Синхронизировать сейчас» on a user's behalf.

Every function here starts with `require_admin`: the page is not the guard, this module is.

A rerun of «Обзор» costs a constant number of SQL statements, whatever the number of users: the
counts are aggregates in SQL (GROUP BY, CASE), the tables are one filtered, paged query each (with
the total from a window function), the heartbeats and the queues are one statement each. Whether a
stored token still opens with the configured key needs the key, not SQL: the answer is kept per
(connection, token version) in the process (a token changes only with its version; a new key means a
restart), so a warm rerun decrypts nothing and at most one statement fetches the new tokens.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, func, literal, or_, select
from sqlalchemy.orm import Session

from connhub import connections
from connhub.admin.access import Actor, require_admin
from connhub.connections import CheckView, ConnectionView
from connhub.crypto import TokenCipher, UnreadableToken
from connhub.journal import events
from connhub.journal.record import record as journal_record
from connhub.models import (
    CatalogRefreshJob,
    CheckerHeartbeat,
    Connection,
    RefreshState,
    Status,
    SyncConfig,
    SyncRun,
    SyncRunState,
    User,
    UTCDateTime,
    utcnow,
)
from connhub.providers import PROVIDER_INFO
from connhub.runtime import Runtime
from connhub.sync import runs
from connhub.sync.config import SyncConfigView, get_config
from connhub.sync.runs import RunInProgress, RunView

log = logging.getLogger("connhub.admin")

PAGE_SIZE = 50
# An enabled sync whose last completed run is older than this (or that never completed one) is stale.
SYNC_STALE_AFTER = timedelta(hours=24)
# Fetching every sealed token in one statement beats a long IN list past this many unknown ones.
FETCH_ALL_TOKENS_OVER = 2000


class ConnectionState(StrEnum):
    """What the overview counts and filters connections by (a Status, or the key's trouble)."""

    ONLINE = Status.ONLINE.value
    OFFLINE = Status.OFFLINE.value
    RECONNECT = Status.RECONNECT.value
    NEVER_CHECKED = Status.NEVER_CHECKED.value
    UNREADABLE = "unreadable"  # the configured key does not open the stored token (counted apart)


class SyncState(StrEnum):
    ON = "on"
    OFF = "off"
    STALE = "stale"  # on, but no completed run for SYNC_STALE_AFTER
    STOPPED = "stopped"  # on, and its last run stopped early (goods off, no rights, ...)
    FAILED = "failed"  # on, and its last run failed


CONNECTION_PROBLEMS = (ConnectionState.OFFLINE, ConnectionState.RECONNECT, ConnectionState.UNREADABLE)
SYNC_PROBLEMS = (SyncState.STALE, SyncState.STOPPED, SyncState.FAILED)


@dataclass(frozen=True)
class Filters:
    """The table filters: "" / None means any."""

    service: str = ""  # a provider key
    connection_state: str = ""  # a ConnectionState
    sync_state: str = ""  # a SyncState
    owner: str = ""  # part of the owner's e-mail or name, case-insensitive
    problems_only: bool = False
    connections_page: int = 0
    syncs_page: int = 0


@dataclass(frozen=True)
class ConnectionRow:
    id: int
    user_id: int
    owner: str
    provider: str
    service: str
    status: Status
    unreadable: bool
    reason: str
    account: str
    last_checked_at: datetime | None
    next_check_at: datetime | None


@dataclass(frozen=True)
class SyncRow:
    user_id: int
    owner: str
    state: SyncState
    enabled: bool
    store: str
    community: str
    last_run_state: str | None
    last_run_at: datetime | None
    last_run_note: str


@dataclass(frozen=True)
class SidecarRow:
    checker_id: str
    host: str
    pid: str
    started_at: datetime
    last_beat_at: datetime
    silent: bool  # no beat for two check intervals
    cycle_seconds: float | None
    checked: int | None
    checks_per_second: float | None


@dataclass(frozen=True)
class Queues:
    due_lag_seconds: float | None  # how long the oldest due, unclaimed check has been waiting
    due_checks: int
    catalog_queued: int
    catalog_running: int
    sync_requested: int
    sync_running: int


@dataclass(frozen=True)
class Overview:
    now: datetime
    users: int
    connection_counts: dict[ConnectionState, int]
    sync_counts: dict[SyncState, int]
    connections: list[ConnectionRow]
    connections_total: int  # rows matching the filters (the list is one page of them)
    syncs: list[SyncRow]
    syncs_total: int
    sidecars: list[SidecarRow]
    queues: Queues
    page_size: int = PAGE_SIZE


@dataclass(frozen=True)
class ConnectionDetail:
    owner: str
    owner_id: int
    connection: ConnectionView
    unreadable: bool
    checks: list[CheckView]


@dataclass(frozen=True)
class SyncDetail:
    owner: str
    owner_id: int
    config: SyncConfigView
    runs: list[RunView]


@dataclass(frozen=True)
class ActionResult:
    """What an action on a user's behalf did, as data for the page."""

    ok: bool
    message: str
    connection: ConnectionView | None = None
    run: RunView | None = None


# ----------------------------------------------------------------------------- readable tokens


@dataclass
class _Readability:
    fingerprint: tuple[Any, ...] | None = None  # of the (id, token_version) set the answer is for
    known: dict[tuple[int, int], bool] = field(default_factory=dict)
    unreadable: frozenset[int] = frozenset()
    lock: threading.Lock = field(default_factory=threading.Lock)


_readability: weakref.WeakKeyDictionary[TokenCipher, _Readability] = weakref.WeakKeyDictionary()
_readability_lock = threading.Lock()


def _cache_for(cipher: TokenCipher) -> _Readability:
    with _readability_lock:
        found = _readability.get(cipher)
        if found is None:
            found = _readability[cipher] = _Readability()
        return found


def _opens(cipher: TokenCipher, sealed: str) -> bool:
    try:
        cipher.open(sealed)
    except UnreadableToken:
        return False
    return True


def unreadable_ids(session: Session, cipher: TokenCipher) -> frozenset[int]:
    """The connections whose token the configured key cannot open.

    One aggregate statement when no token changed since the last call (a token changes only with
    its connection's `token_version`; a new row has a new id or a newer `created_at`); otherwise
    one more for the (id, version) pairs and, for pairs not seen before, one for their tokens."""
    cache = _cache_for(cipher)
    fingerprint = tuple(session.execute(select(
        func.count(), func.coalesce(func.sum(Connection.token_version), 0), func.coalesce(func.sum(Connection.id), 0),
        func.max(Connection.created_at))).one())
    with cache.lock:
        if fingerprint == cache.fingerprint:
            return cache.unreadable
    current = {(row.id, row.token_version) for row in session.execute(select(Connection.id, Connection.token_version))}
    with cache.lock:
        unknown = [key for key in current if key not in cache.known]
    found: dict[tuple[int, int], bool] = {}
    if unknown:
        query = select(Connection.id, Connection.token_version, Connection.access_token_sealed)
        if len(unknown) <= FETCH_ALL_TOKENS_OVER:
            query = query.where(Connection.id.in_([key[0] for key in unknown]))
        found = {(row.id, row.token_version): _opens(cipher, row.access_token_sealed)
                 for row in session.execute(query)}
    with cache.lock:
        known = {key: found[key] if key in found else cache.known.get(key, True) for key in current}
        cache.known = known
        cache.unreadable = frozenset(key[0] for key, readable in known.items() if not readable)
        cache.fingerprint = fingerprint
        return cache.unreadable


# ----------------------------------------------------------------------------- SQL pieces


def _owner_label() -> ColumnElement[str]:
    return case((User.email != "", User.email), (User.name != "", User.name), else_=User.subject)


def _last_run_ids() -> Any:
    """Per user, the id of the last completed real (not dry) run."""
    return (select(SyncRun.user_id.label("user_id"), func.max(SyncRun.id).label("run_id"))
            .where(SyncRun.dry_run.is_(False),
                   SyncRun.state.in_([SyncRunState.FINISHED, SyncRunState.STOPPED, SyncRunState.FAILED]))
            .group_by(SyncRun.user_id).subquery("last_run_ids"))


def _sync_state(last_run: Any, stale_before: Any) -> ColumnElement[str]:
    on = and_(SyncConfig.enabled.is_(True), SyncConfig.confirmed_at.is_not(None))
    return case(
        (~on, literal(SyncState.OFF.value)),
        (last_run.c.state == SyncRunState.FAILED, literal(SyncState.FAILED.value)),
        (last_run.c.state == SyncRunState.STOPPED, literal(SyncState.STOPPED.value)),
        (or_(last_run.c.id.is_(None), func.coalesce(last_run.c.finished_at, last_run.c.requested_at) < stale_before),
         literal(SyncState.STALE.value)),
        else_=literal(SyncState.ON.value),
    )


def _owner_matches(text: str) -> ColumnElement[bool]:
    pattern = "%" + text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(func.lower(User.email).like(pattern, escape="\\"), func.lower(User.name).like(pattern, escape="\\"))


def _connection_filter(filters: Filters, unreadable: frozenset[int]) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.service:
        where.append(Connection.provider == filters.service)
    if filters.connection_state == ConnectionState.UNREADABLE:
        where.append(Connection.id.in_(sorted(unreadable)) if unreadable else literal(False))
    elif filters.connection_state:
        where.append(Connection.status == filters.connection_state)
    if filters.owner.strip():
        where.append(_owner_matches(filters.owner))
    if filters.problems_only:
        problem = Connection.status.in_([Status.OFFLINE, Status.RECONNECT])
        where.append(or_(problem, Connection.id.in_(sorted(unreadable))) if unreadable else problem)
    return where


# ----------------------------------------------------------------------------- the overview


def overview(rt: Runtime, actor: Actor, filters: Filters | None = None, *, now: datetime | None = None,
             page_size: int = PAGE_SIZE) -> Overview:
    """Everything «Обзор» shows, in a constant number of statements."""
    require_admin(actor, rt.settings)
    filters = filters or Filters()
    now = now or utcnow()
    at_now = bindparam("now", now, type_=UTCDateTime)
    stale_before = bindparam("stale_before", now - SYNC_STALE_AFTER, type_=UTCDateTime)
    last_ids = _last_run_ids()
    last_run = SyncRun.__table__.alias("last_run")
    with rt.sessions() as session:
        dialect = session.get_bind().dialect
        unreadable = unreadable_ids(session, rt.cipher)

        # 1. Connections by status, with the due checks, in one pass over the table.
        due = (Connection.next_check_at <= at_now) & or_(Connection.lease_expires_at.is_(None),
                                                         Connection.lease_expires_at < at_now)
        status_counts: dict[str, int] = {}
        due_checks, oldest_due = 0, None
        for row in session.execute(select(
                Connection.status, func.count().label("n"), func.sum(case((due, 1), else_=0)).label("due"),
                func.min(case((due, Connection.next_check_at), else_=None)).label("oldest"))
                .group_by(Connection.status)):
            status_counts[row.status] = int(row.n)
            due_checks += int(row.due or 0)
            oldest = UTCDateTime().process_result_value(row.oldest, dialect)
            if oldest is not None and (oldest_due is None or oldest < oldest_due):
                oldest_due = oldest

        # 2. Users, and what waits for the sidecars.
        counts = session.execute(select(
            select(func.count()).select_from(User).scalar_subquery().label("users"),
            *(select(func.count()).select_from(CatalogRefreshJob).where(CatalogRefreshJob.state == value)
              .scalar_subquery().label(name) for name, value in (("cat_q", RefreshState.QUEUED),
                                                                 ("cat_r", RefreshState.RUNNING))),
            *(select(func.count()).select_from(SyncRun).where(SyncRun.state == value)
              .scalar_subquery().label(name) for name, value in (("sync_q", SyncRunState.REQUESTED),
                                                                 ("sync_r", SyncRunState.RUNNING))),
        )).one()

        # 3. Syncs by state.
        state = _sync_state(last_run, stale_before).label("state")
        sync_base = (select(SyncConfig.user_id, state)
                     .outerjoin(last_ids, last_ids.c.user_id == SyncConfig.user_id)
                     .outerjoin(last_run, last_run.c.id == last_ids.c.run_id)).subquery("sync_states")
        sync_counts = {row.state: row.n for row in session.execute(
            select(sync_base.c.state, func.count().label("n")).group_by(sync_base.c.state))}

        # 4. One page of connections (in the owners' sign-up order), and 5. how many match.
        where = _connection_filter(filters, unreadable)
        rows = session.execute(
            select(Connection.id, Connection.user_id, Connection.provider, Connection.status,
                   Connection.status_reason, Connection.display_name, Connection.account_id,
                   Connection.last_checked_at, Connection.next_check_at, _owner_label().label("owner"))
            .join(User, User.id == Connection.user_id).where(*where)
            .order_by(Connection.user_id, Connection.provider)
            .limit(page_size).offset(max(0, filters.connections_page) * page_size)
        ).all()
        matching = select(func.count()).select_from(Connection)
        if filters.owner.strip():
            matching = matching.join(User, User.id == Connection.user_id)
        connections_total = session.scalar(matching.where(*where)) or 0
        connection_rows = [ConnectionRow(
            id=row.id, user_id=row.user_id, owner=row.owner, provider=row.provider,
            service=PROVIDER_INFO[row.provider].title if row.provider in PROVIDER_INFO else row.provider,
            status=Status(row.status), unreadable=row.id in unreadable, reason=row.status_reason,
            account=row.display_name or row.account_id, last_checked_at=row.last_checked_at,
            next_check_at=row.next_check_at) for row in rows]

        # 6. One page of syncs, with the total matching.
        sync_where: list[ColumnElement[bool]] = []
        if filters.sync_state:
            sync_where.append(state == filters.sync_state)
        if filters.problems_only:
            sync_where.append(state.in_([problem.value for problem in SYNC_PROBLEMS]))
        if filters.owner.strip():
            sync_where.append(_owner_matches(filters.owner))
        sync_rows = session.execute(
            select(SyncConfig.user_id, SyncConfig.enabled, SyncConfig.evotor_store_name, SyncConfig.evotor_store_id,
                   SyncConfig.vk_group_name, SyncConfig.vk_group_id, state, last_run.c.state.label("run_state"),
                   func.coalesce(last_run.c.finished_at, last_run.c.requested_at).label("run_at"),
                   last_run.c.stop_reason, last_run.c.failed, _owner_label().label("owner"),
                   func.count().over().label("total"))
            .join(User, User.id == SyncConfig.user_id)
            .outerjoin(last_ids, last_ids.c.user_id == SyncConfig.user_id)
            .outerjoin(last_run, last_run.c.id == last_ids.c.run_id)
            .where(*sync_where)
            .order_by(SyncConfig.user_id)
            .limit(page_size).offset(max(0, filters.syncs_page) * page_size)
        ).all()
        syncs = [SyncRow(
            user_id=row.user_id, owner=row.owner, state=SyncState(row.state), enabled=bool(row.enabled),
            store=row.evotor_store_name or row.evotor_store_id,
            community=row.vk_group_name or (str(row.vk_group_id) if row.vk_group_id else ""),
            last_run_state=row.run_state,
            last_run_at=UTCDateTime().process_result_value(row.run_at, dialect),
            last_run_note=row.stop_reason or (f"ошибок: {row.failed}" if row.failed else ""),
        ) for row in sync_rows]
        syncs_total = sync_rows[0].total if sync_rows else 0

        # 7. The sidecars' heartbeats.
        beats = session.scalars(select(CheckerHeartbeat).order_by(CheckerHeartbeat.checker_id)).all()
        sidecars = [_sidecar(row, now, rt.settings.HEALTH_CHECK_INTERVAL_SECONDS) for row in beats]
        session.rollback()
    return Overview(
        now=now, users=int(counts.users or 0),
        connection_counts={**{state_: int(status_counts.get(state_.value, 0)) for state_ in ConnectionState
                              if state_ is not ConnectionState.UNREADABLE},
                           ConnectionState.UNREADABLE: len(unreadable)},
        sync_counts={state_: int(sync_counts.get(state_.value, 0)) for state_ in SyncState},
        connections=connection_rows, connections_total=int(connections_total),
        syncs=syncs, syncs_total=int(syncs_total), sidecars=sidecars,
        queues=Queues(due_lag_seconds=max(0.0, (now - oldest_due).total_seconds()) if oldest_due is not None else None,
                      due_checks=due_checks, catalog_queued=int(counts.cat_q or 0),
                      catalog_running=int(counts.cat_r or 0), sync_requested=int(counts.sync_q or 0),
                      sync_running=int(counts.sync_r or 0)),
        page_size=page_size,
    )


def _sidecar(row: CheckerHeartbeat, now: datetime, interval: int) -> SidecarRow:
    host, _, pid = row.checker_id.rpartition(":")
    cycle: dict[str, Any] = dict(row.last_cycle or {})
    duration = cycle.get("duration_s")
    checked = cycle.get("checked")
    seconds = float(duration) if isinstance(duration, int | float) else None
    count = int(checked) if isinstance(checked, int) else None
    rate = count / seconds if count and seconds else (0.0 if count == 0 else None)
    return SidecarRow(checker_id=row.checker_id, host=host or row.checker_id, pid=pid if host else "",
                      started_at=row.started_at, last_beat_at=row.last_beat_at,
                      silent=now - row.last_beat_at > timedelta(seconds=2 * max(interval, row.interval_seconds)),
                      cycle_seconds=seconds, checked=count, checks_per_second=rate)


# ----------------------------------------------------------------------------- one user's things, read-only


def _owner(session: Session, user_id: int) -> str | None:
    row = session.execute(select(_owner_label()).select_from(User).where(User.id == user_id)).first()
    return None if row is None else str(row[0])


def connection_detail(rt: Runtime, actor: Actor, connection_id: int) -> ConnectionDetail | None:
    """A user's connection and its recent checks, read-only; None if it is gone."""
    require_admin(actor, rt.settings)
    with rt.sessions() as session:
        row = session.get(Connection, connection_id)
        if row is None or row.provider not in PROVIDER_INFO:
            return None
        owner_id = row.user_id
        view = connections.to_view(row)
        readable = _opens(rt.cipher, row.access_token_sealed)
        owner = _owner(session, owner_id) or ""
        checks = connections.recent_checks(session, owner_id, connection_id)
    return ConnectionDetail(owner=owner, owner_id=owner_id, connection=view, unreadable=not readable, checks=checks)


def sync_detail(rt: Runtime, actor: Actor, user_id: int) -> SyncDetail | None:
    """A user's sync configuration and recent runs, read-only; None if the user is gone."""
    require_admin(actor, rt.settings)
    with rt.sessions() as session:
        owner = _owner(session, user_id)
        if owner is None:
            return None
        config = get_config(session, user_id)
        recent = runs.recent_runs(session, user_id)
    return SyncDetail(owner=owner, owner_id=user_id, config=config, runs=recent)


# ----------------------------------------------------------------------------- acting on a user's behalf


def actor_label(actor: Actor) -> str:
    """How an action on someone's behalf names who did it (runs' `triggered_by`)."""
    return f"администратор {actor.label}"[:320]


def record_action(rt: Runtime, actor: Actor, action: str, *, owner_id: int, service: str, subject: str,
                  outcome: str, connection_id: int | None = None) -> None:
    """The one place an administrator's action on a user's behalf is recorded: in the owner's
    journal, with the administrator as actor."""
    with rt.sessions.begin() as session:
        journal_record(session, events.admin_action(owner_id, actor.label, action=action, service=service,
                                                    subject=subject, outcome=outcome, connection_id=connection_id))



def check_now_for(rt: Runtime, actor: Actor, connection_id: int) -> ActionResult:
    """«Проверить сейчас» on the owner's behalf: the same check and write as the owner's button."""
    require_admin(actor, rt.settings)
    with rt.sessions() as session:
        found = session.execute(select(Connection.user_id, Connection.provider)
                                .where(Connection.id == connection_id)).first()
    if found is None:
        return ActionResult(False, "Подключение уже удалено.")
    owner_id, service = found
    view = connections.check_now(rt, user_id=owner_id, connection_id=connection_id)
    if view is None:
        record_action(rt, actor, "check_now", owner_id=owner_id, service=service, subject=f"connection:{connection_id}",
                      outcome="gone", connection_id=connection_id)
        return ActionResult(False, "Подключение удалено во время проверки.")
    record_action(rt, actor, "check_now", owner_id=owner_id, service=service, subject=f"connection:{connection_id}",
                  outcome=view.status, connection_id=connection_id)
    return ActionResult(True, "Проверка выполнена.", connection=view)


def sync_now_for(rt: Runtime, actor: Actor, user_id: int) -> ActionResult:
    """«Синхронизировать сейчас» on the owner's behalf: a run request naming the administrator."""
    require_admin(actor, rt.settings)
    with rt.sessions() as session:
        if _owner(session, user_id) is None:
            return ActionResult(False, "Пользователь не найден.")
        config = get_config(session, user_id)
    if not config.is_on:
        return ActionResult(False, "Синхронизация этого пользователя выключена: включает её только он сам.")
    try:
        run = runs.request_run(rt.sessions, user_id, triggered_by=actor_label(actor))
    except RunInProgress as exc:
        which = f"Уже идёт запуск № {exc.run.id}" if exc.run is not None else "Запуск уже начинается"
        return ActionResult(False, f"{which}: дождитесь его окончания.", run=exc.run)
    record_action(rt, actor, "sync_now", owner_id=user_id, service="sync", subject=f"sync_run:{run.id}",
                  outcome=run.state)
    return ActionResult(True, f"Запуск № {run.id} запрошен; его начнёт фоновый процесс.", run=run)


def with_page(filters: Filters, *, connections_page: int | None = None, syncs_page: int | None = None) -> Filters:
    return replace(filters,
                   connections_page=filters.connections_page if connections_page is None else max(0, connections_page),
                   syncs_page=filters.syncs_page if syncs_page is None else max(0, syncs_page))


def providers() -> Iterable[tuple[str, str]]:
    """The services the filter offers: (key, title)."""
    return [(key, info.title) for key, info in PROVIDER_INFO.items()]
