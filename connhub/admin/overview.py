"""«Обзор»'s counts and tables, in a constant number of SQL statements whatever the number of users:
the counts are aggregates in SQL (GROUP BY, CASE), the tables are one filtered, paged query each (with
the total from a window function), the heartbeats and the queues are one statement each."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, func, literal, or_, select

from connhub.admin.access import Actor, require_admin
from connhub.admin.tokens import unreadable_ids
from connhub.admin.views import (
    PAGE_SIZE,
    SYNC_PROBLEMS,
    SYNC_STALE_AFTER,
    ConnectionRow,
    ConnectionState,
    Filters,
    Overview,
    Queues,
    SidecarRow,
    SyncRow,
    SyncState,
)
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

# ----------------------------------------------------------------------------- SQL pieces


def owner_label() -> ColumnElement[str]:
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
                   Connection.last_checked_at, Connection.next_check_at, owner_label().label("owner"))
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
                   last_run.c.stop_reason, last_run.c.failed, owner_label().label("owner"),
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
