"""Refresh jobs: a request recorded by the page or the schedule, run by the sidecar.

A job refreshes one connection's catalog: the store list, then each store's groups and products
(one store when the user asked for one). Each store's data is written into a new snapshot that
nobody reads while it loads; when it is complete, one short transaction makes it current and
retires the old one, so readers see the old catalog or the new one, never half of one. A job that
fails deletes its unfinished snapshot and the previous one stays.

Bounds: a refresh stops at the first of its source's `RefreshBounds` it would pass (pages,
requests, seconds, records read) or at a cursor it was already given, and fails saying which;
a provider that pages forever costs one bounded job, never a hung worker or a full memory.
Records the provider's parser left out, and groups whose parents formed a cycle (stored at the
top), are counted and the first few named on the job (`items_skipped`, `problems`).

Concurrency: a partial unique index allows one unfinished job per connection, so a second
request while one is queued or running joins it, and two refreshes of one store never run at
once. A worker claims a job with a lease (`connhub.work.claims`) that a heartbeat thread renews
by time while the job runs, whatever it waits on; a job whose worker died (lease expired) is
claimed again from the start.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Table, and_, delete, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from connhub.db import write_locked
from connhub.journal import hooks as journal_hooks
from connhub.models import (
    CatalogGroup,
    CatalogProduct,
    CatalogRefreshJob,
    CatalogSnapshot,
    CatalogStore,
    Connection,
    RefreshSource,
    RefreshState,
    SnapshotState,
    Status,
    utcnow,
)
from connhub.ports.catalog import CatalogSource, GroupRecord, Page, ProductRecord, StoreRecord
from connhub.ports.errors import ProviderError
from connhub.work.claims import Heartbeat, beat_every, claimable

log = logging.getLogger(__name__)

CATALOG_GROUPS: Table = CatalogGroup.__table__  # type: ignore[assignment]
CATALOG_PRODUCTS: Table = CatalogProduct.__table__  # type: ignore[assignment]

LEASE = timedelta(minutes=2)
# How long a job will wait out the provider's rate limit in total before it gives up.
MAX_RATE_LIMIT_WAIT_SECONDS = 120.0
INSERT_CHUNK = 1000
# How many problems a job names (it counts them all).
MAX_PROBLEMS = 10

T = TypeVar("T")


@dataclass(frozen=True)
class JobView:
    id: int
    connection_id: int
    store_id: str | None
    source: str
    requested_by_user_id: int | None
    requested_at: datetime
    state: str
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    requests: int
    pages_read: int
    items_read: int
    current_store_id: str | None
    error: str
    error_code: str
    items_skipped: int = 0
    problems: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.state in (RefreshState.QUEUED, RefreshState.RUNNING)


def _view(job: CatalogRefreshJob) -> JobView:
    return JobView(
        id=job.id, connection_id=job.connection_id, store_id=job.store_id, source=job.source,
        requested_by_user_id=job.requested_by_user_id, requested_at=job.requested_at, state=job.state,
        started_at=job.started_at, finished_at=job.finished_at, duration_ms=job.duration_ms,
        requests=job.requests, pages_read=job.pages_read, items_read=job.items_read,
        current_store_id=job.current_store_id, error=job.error, error_code=job.error_code,
        items_skipped=job.items_skipped or 0, problems=tuple(job.problems or ()),
    )


# --- requests --------------------------------------------------------------------------------


def request_refresh(
    sessions: sessionmaker[Session],
    connection_id: int,
    *,
    store_id: str | None,
    source: RefreshSource,
    user_id: int | None = None,
) -> JobView:
    """Record a refresh request; if one is already queued or running, return that one instead.

    A queued request for another single store is widened to every store, so nothing asked for
    is dropped.
    """
    with write_locked(sessions) as session:
        active = _active_job(session, connection_id)
        if active is None:
            job = CatalogRefreshJob(connection_id=connection_id, store_id=store_id, source=source,
                                    requested_by_user_id=user_id, state=RefreshState.QUEUED,
                                    requested_at=utcnow())
            session.add(job)
            try:
                session.flush()
            except IntegrityError:  # another process inserted one between our read and write
                session.rollback()
                return _existing_active(sessions, connection_id)
            session.commit()
            return _view(job)
        if active.state == RefreshState.QUEUED and active.store_id not in (None, store_id):
            active.store_id = None
            session.commit()
        return _view(active)


def _existing_active(sessions: sessionmaker[Session], connection_id: int) -> JobView:
    with sessions() as session:
        active = _active_job(session, connection_id)
        assert active is not None
        return _view(active)


def _active_job(session: Session, connection_id: int) -> CatalogRefreshJob | None:
    return session.scalars(
        select(CatalogRefreshJob).where(CatalogRefreshJob.connection_id == connection_id,
                                        CatalogRefreshJob.finished_at.is_(None))
    ).first()


def request_due_refreshes(
    sessions: sessionmaker[Session],
    *,
    providers: Iterable[str],
    interval: timedelta,
    now: datetime | None = None,
) -> int:
    """Queue a scheduled refresh for each catalog connection not refreshed within `interval`.

    Connections whose token was rejected are skipped: only a reconnect can help them.
    """
    now = now or utcnow()
    recent = select(CatalogRefreshJob.id).where(
        CatalogRefreshJob.connection_id == Connection.id,
        or_(CatalogRefreshJob.finished_at.is_(None), CatalogRefreshJob.requested_at > now - interval),
    )
    with sessions() as session:
        due = session.scalars(
            select(Connection.id).where(Connection.provider.in_(list(providers)),
                                        Connection.status != Status.RECONNECT, ~exists(recent))
        ).all()
    for connection_id in due:
        request_refresh(sessions, connection_id, store_id=None, source=RefreshSource.SCHEDULE)
    return len(due)


def latest_job(session: Session, connection_id: int) -> JobView | None:
    job = session.scalars(
        select(CatalogRefreshJob).where(CatalogRefreshJob.connection_id == connection_id)
        .order_by(CatalogRefreshJob.requested_at.desc(), CatalogRefreshJob.id.desc()).limit(1)
    ).first()
    return None if job is None else _view(job)


def last_finished_job(session: Session, connection_id: int, store_id: str | None = None, *,
                      succeeded: bool = False) -> JobView | None:
    """The last job that finished (for «обновлено … по расписанию / пользователем»)."""
    query = select(CatalogRefreshJob).where(CatalogRefreshJob.connection_id == connection_id,
                                            CatalogRefreshJob.finished_at.is_not(None))
    if succeeded:
        query = query.where(CatalogRefreshJob.state == RefreshState.SUCCEEDED)
    if store_id is not None:
        query = query.where(or_(CatalogRefreshJob.store_id.is_(None), CatalogRefreshJob.store_id == store_id))
    job = session.scalars(query.order_by(CatalogRefreshJob.finished_at.desc()).limit(1)).first()
    return None if job is None else _view(job)


# --- claiming --------------------------------------------------------------------------------


def claim_next(sessions: sessionmaker[Session], worker: str, *, now: datetime | None = None,
               lease: timedelta = LEASE, job_id: int | None = None) -> JobView | None:
    """Take the oldest queued job (or job `job_id` only), or one whose worker's lease ran out; None
    when there is none (`connhub.work.claims`: SKIP LOCKED on PostgreSQL, the write lock on SQLite)."""
    now = now or utcnow()
    takeable = or_(
        CatalogRefreshJob.state == RefreshState.QUEUED,
        and_(CatalogRefreshJob.state == RefreshState.RUNNING, CatalogRefreshJob.lease_expires_at < now),
    )
    query = (
        select(CatalogRefreshJob).where(CatalogRefreshJob.finished_at.is_(None), takeable)
        .order_by(CatalogRefreshJob.requested_at, CatalogRefreshJob.id).limit(1)
    )
    if job_id is not None:
        query = query.where(CatalogRefreshJob.id == job_id)
    with write_locked(sessions) as session:
        job = session.scalars(claimable(query, session)).first()
        if job is None:
            return None
        if job.state == RefreshState.RUNNING:  # its worker died: drop what it left half-loaded
            _drop_loading(session, job.id)
        job.state = RefreshState.RUNNING
        job.worker = worker
        job.started_at = now
        job.lease_expires_at = now + lease
        job.requests = job.pages_read = job.items_read = job.items_skipped = 0
        job.problems = None
        job.current_store_id = None
        session.commit()
        return _view(job)


def renew_lease(sessions: sessionmaker[Session], job_id: int, lease: timedelta = LEASE) -> None:
    """The job's lease, renewed by time from its own thread while the job runs (whatever it waits on)."""
    with sessions.begin() as session:
        session.execute(update(CatalogRefreshJob).where(CatalogRefreshJob.id == job_id,
                                                        CatalogRefreshJob.state == RefreshState.RUNNING)
                        .values(lease_expires_at=utcnow() + lease))


def _drop_loading(session: Session, job_id: int) -> None:
    session.execute(delete(CatalogSnapshot).where(CatalogSnapshot.job_id == job_id,
                                                  CatalogSnapshot.state == SnapshotState.LOADING))


# --- running ---------------------------------------------------------------------------------


class JobFailed(Exception):
    def __init__(self, reason: str, code: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.reason = reason
        self.code = code


class _Runner:
    def __init__(self, sessions: sessionmaker[Session], job: JobView, source: CatalogSource,
                 wait: Callable[[float], Any], clock: Callable[[], float],
                 should_stop: Callable[[], bool]) -> None:
        self.should_stop = should_stop
        self.sessions = sessions
        self.job = job
        self.source = source
        self.wait = wait
        self.clock = clock
        self.requests = 0
        self.pages = 0
        self.items = 0
        self.waited = 0.0
        self.bounds = source.bounds
        self.started = clock()
        self.skipped = 0
        self.problems: list[str] = []

    @staticmethod
    def _count(number: int) -> str:
        """A count as Russian text sets it: 5000, 100 000 (a no-break space from five digits)."""
        return str(number) if number < 10_000 else f"{number:,}".replace(",", "\u00a0")

    def _stop(self, reason: str, code: str) -> JobFailed:
        return JobFailed(f"{reason} — обновление остановлено, прежняя копия каталога сохранена", code)

    def _check_time(self, ahead: float = 0.0) -> None:
        limit = self.bounds.max_seconds
        if self.clock() - self.started + ahead > limit:
            shown = f"{limit:g}".replace(".", ",")
            raise self._stop(f"Обновление каталога {self.source.service} идёт дольше {shown} с", "too_slow")

    def call(self, request: Callable[[], T]) -> T:
        """One provider request within the job's bounds; a rate limit is waited out (within a
        budget) and retried."""
        while True:
            if self.should_stop():
                raise JobFailed("Обновление прервано: обработчик остановлен; повторим позже", "stopped")
            if self.requests >= self.bounds.max_requests:
                limit = self._count(self.bounds.max_requests)
                raise self._stop(f"{self.source.service}: больше {limit} запросов за одно обновление",
                                 "too_many_requests")
            self._check_time()
            self.requests += 1
            try:
                return request()
            except ProviderError as error:
                if error.code != "http_429":
                    raise JobFailed(error.reason, error.code) from None
                pause = max(error.retry_after if error.retry_after is not None else 1.0, 0.1)
                if self.waited + pause > MAX_RATE_LIMIT_WAIT_SECONDS:
                    raise JobFailed(f"{self.source.service} ограничил частоту запросов; повторим позже",
                                    "http_429") from None
                self._check_time(pause)
                self.progress()
                self.waited += pause
                self.wait(pause)

    def progress(self, store_id: str | None = None) -> None:
        """What the job did so far, written as it goes (the page's progress line reads it); each
        write renews the lease."""
        values: dict[str, Any] = {"requests": self.requests, "pages_read": self.pages,
                                  "items_read": self.items, "items_skipped": self.skipped,
                                  "problems": self.problems[:MAX_PROBLEMS] or None,
                                  "lease_expires_at": utcnow() + LEASE}
        if store_id is not None:
            values["current_store_id"] = store_id
        with self.sessions.begin() as session:
            session.execute(update(CatalogRefreshJob).where(CatalogRefreshJob.id == self.job.id).values(**values))

    def report(self, problems: Sequence[str], *, skipped: int = 0) -> None:
        self.skipped += skipped
        self.problems.extend(problems[:max(MAX_PROBLEMS - len(self.problems), 0)])

    def pages_of(self, fetch: Callable[[str | None], Page[T]], store_id: str | None, *,
                 counted: bool = True) -> dict[str, T]:
        """Every item of a paged series, de-duplicated by id (the last copy wins), within the
        job's bounds: a cursor given twice, too many pages or too many records end the job.
        A series not `counted` (the store list) is bounded by its own pages and adds only its
        requests to the job's figures (pages and items read are the catalog's: groups, products)."""
        items: dict[str, T] = {}
        cursor: str | None = None
        seen_cursors: set[str] = set()
        service = self.source.service
        own_pages = 0
        while True:
            page = self.call(partial(fetch, cursor))
            own_pages += 1
            if counted:
                self.pages += 1
                self.items += len(page.items)
            for item in page.items:
                items[item.id] = item  # type: ignore[attr-defined]
            self.report(page.problems, skipped=page.skipped)
            self.progress(store_id)
            if page.next_cursor is None:
                return items
            if page.next_cursor in seen_cursors or page.next_cursor == cursor:
                raise self._stop(f"{service} отдаёт одну и ту же страницу снова и снова", "cursor_loop")
            if self.items > self.bounds.max_items:
                raise self._stop(f"В каталоге {service} больше {self._count(self.bounds.max_items)} товаров и групп",
                                 "too_many_items")
            if (self.pages if counted else own_pages) >= self.bounds.max_pages:
                limit = self._count(self.bounds.max_pages)
                raise self._stop(f"{service} отдал больше {limit} страниц за одно обновление", "too_many_pages")
            seen_cursors.add(page.next_cursor)
            cursor = page.next_cursor

    def stores(self) -> list[StoreRecord]:
        """The store list, paged here within the bounds."""
        return list(self.pages_of(self.source.stores_page, None, counted=False).values())

    def run(self) -> None:
        stores = self.stores()
        self.progress()
        _save_stores(self.sessions, self.job.connection_id, stores)
        listed = [store.id for store in stores]
        if self.job.store_id is not None:
            if self.job.store_id not in listed:
                raise JobFailed(f"Магазин больше не найден у сервиса {self.source.service}", "store_gone")
            listed = [self.job.store_id]
        for store_id in listed:
            self.refresh_store(store_id)

    def refresh_store(self, store_id: str) -> None:
        groups = self.pages_of(lambda cursor: self.source.groups_page(store_id, cursor), store_id)
        products = self.pages_of(lambda cursor: self.source.products_page(store_id, cursor), store_id)
        tree, lifted = break_cycles(groups.values())
        if lifted:
            self.report([f"Группа «{group.name or group.id}» ({group.id}) была своим собственным предком — "
                         "показана на верхнем уровне" for group in lifted])
        snapshot_id = _write_snapshot(self.sessions, self.job, store_id, tree, products.values())
        _swap(self.sessions, self.job.connection_id, store_id, snapshot_id)


def run_job(
    sessions: sessionmaker[Session],
    job: JobView,
    source: CatalogSource,
    *,
    wait: Callable[[float], Any] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    should_stop: Callable[[], bool] = lambda: False,
    lease: timedelta = LEASE,
) -> JobView:
    """Run a claimed job to the end and record how it went. Never raises for provider trouble."""
    runner = _Runner(sessions, job, source, wait, clock, should_stop)
    started = clock()
    state, reason, code = RefreshState.SUCCEEDED, "", ""
    heartbeat = Heartbeat(f"catalog-job-{job.id}", partial(renew_lease, sessions, job.id, lease),
                          beat_every(lease.total_seconds())).start()
    try:
        runner.run()
    except JobFailed as failure:
        state, reason, code = RefreshState.FAILED, failure.reason, failure.code
    except Exception:
        log.exception("catalog refresh job %s failed", job.id)
        state, reason, code = RefreshState.FAILED, "Внутренняя ошибка при обновлении каталога", "internal"
    finally:
        heartbeat.stop()
    finished = utcnow()
    with write_locked(sessions) as session:
        if state == RefreshState.FAILED:
            _drop_loading(session, job.id)
        record = session.get(CatalogRefreshJob, job.id)
        assert record is not None
        record.state = state
        record.finished_at = finished
        record.duration_ms = int((clock() - started) * 1000)
        record.requests = runner.requests
        record.pages_read = runner.pages
        record.items_read = runner.items
        record.items_skipped = runner.skipped
        record.problems = runner.problems[:MAX_PROBLEMS] or None
        record.error = reason[:500]
        record.error_code = code[:64]
        record.lease_expires_at = None
        journal_hooks.catalog_job_ended(session, connection_id=job.connection_id, failed=state == RefreshState.FAILED,
                                        reason=reason, source=record.source)  # lane notify
        session.commit()
        result = _view(record)
    log.info("catalog refresh job %s of connection %s: %s, %d requests, %d items, %d ms%s", job.id,
             job.connection_id, state, runner.requests, runner.items, result.duration_ms or 0,
             f" ({code})" if code else "")
    return result


def run_own(sessions: sessionmaker[Session], job_id: int, worker: str,
            open_source: Callable[[int], CatalogSource]) -> JobView | None:
    """Claim job `job_id` and run it here, if it is still there to take (no sidecar took it)."""
    job = claim_next(sessions, worker, job_id=job_id)
    if job is None:
        return None
    try:
        source = open_source(job.connection_id)
    except ProviderError as error:
        return _fail_unstarted(sessions, job, error.reason, error.code)
    return run_job(sessions, job, source)


def run_pending(
    sessions: sessionmaker[Session],
    worker: str,
    open_source: Callable[[int], CatalogSource],
    *,
    limit: int | None = None,
    wait: Callable[[float], Any] = time.sleep,
    should_stop: Callable[[], bool] = lambda: False,
    lease: timedelta = LEASE,
) -> list[JobView]:
    """Claim and run jobs until none is left (or `limit` ran). `open_source(connection_id)`
    gives the account's catalog; a ProviderError from it fails that job alone."""
    done: list[JobView] = []
    while (limit is None or len(done) < limit) and not should_stop():
        job = claim_next(sessions, worker, lease=lease)
        if job is None:
            break
        try:
            source = open_source(job.connection_id)
        except ProviderError as error:
            done.append(_fail_unstarted(sessions, job, error.reason, error.code))
            continue
        done.append(run_job(sessions, job, source, wait=wait, should_stop=should_stop, lease=lease))
    return done


def _fail_unstarted(sessions: sessionmaker[Session], job: JobView, reason: str, code: str) -> JobView:
    with write_locked(sessions) as session:
        record = session.get(CatalogRefreshJob, job.id)
        assert record is not None
        record.state = RefreshState.FAILED
        record.finished_at = utcnow()
        record.duration_ms = 0
        record.error = reason[:500]
        record.error_code = code[:64]
        session.commit()
        return _view(record)


# --- writing ---------------------------------------------------------------------------------


def break_cycles(groups: Iterable[GroupRecord]) -> tuple[list[GroupRecord], list[GroupRecord]]:
    """The groups with every parent cycle broken, and the groups moved to the top to break them.

    A group that is its own parent, or whose parents lead back to it, would hang under nothing
    and vanish from the tree; in each cycle the group with the smallest id goes to the top level,
    so the others keep their place under it. A parent missing from the catalog is left as it is.
    """
    by_id = {group.id: group for group in groups}
    parent = {gid: group.parent_id for gid, group in by_id.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: settled
    lifted: set[str] = set()
    for start in by_id:
        path: list[str] = []
        current: str | None = start
        while current is not None and current in by_id and state.get(current) is None:
            state[current] = 1
            path.append(current)
            current = parent[current]
        if current is not None and state.get(current) == 1:  # came back onto this path: a cycle
            cycle = path[path.index(current):]
            top = min(cycle)
            lifted.add(top)
            parent[top] = None
        for gid in path:
            state[gid] = 2
    if not lifted:
        return list(by_id.values()), []
    fixed = [GroupRecord(g.id, g.name, None, g.attributes, g.barcodes) if g.id in lifted else g
             for g in by_id.values()]
    return fixed, [by_id[gid] for gid in sorted(lifted)]



def _save_stores(sessions: sessionmaker[Session], connection_id: int, stores: Sequence[StoreRecord]) -> None:
    """The account's store list as listed now; a store no longer listed goes with its snapshots."""
    now = utcnow()
    with write_locked(sessions) as session:
        existing = {row.store_id: row for row in session.scalars(
            select(CatalogStore).where(CatalogStore.connection_id == connection_id))}
        for position, store in enumerate(stores):
            row = existing.pop(store.id, None)
            if row is None:
                row = CatalogStore(connection_id=connection_id, store_id=store.id)
                session.add(row)
            row.name = store.name[:255]
            row.address = store.address[:500] if store.address else None
            row.position = position
            row.listed_at = now
        for gone in existing.values():
            session.execute(delete(CatalogSnapshot).where(CatalogSnapshot.connection_id == connection_id,
                                                          CatalogSnapshot.store_id == gone.store_id))
            session.delete(gone)
        session.commit()


def _group_row(snapshot_id: int, group: GroupRecord) -> dict[str, Any]:
    return {"snapshot_id": snapshot_id, "id": group.id, "parent_id": group.parent_id,
            "name": group.name[:255], "is_modification_group": group.is_modification_group,
            "attributes": group.attributes, "barcodes": group.barcodes}


def _product_row(snapshot_id: int, product: ProductRecord) -> dict[str, Any]:
    return {"snapshot_id": snapshot_id, "id": product.id, "group_id": product.group_id,
            "name": product.name[:255], "code": product.code, "article": product.article,
            "barcodes": product.barcodes, "price": product.price, "cost_price": product.cost_price,
            "quantity": product.quantity, "measure": product.measure, "type": product.type,
            "allow_to_sell": product.allow_to_sell, "tax": product.tax,
            "attributes_choices": product.attributes_choices, "description": product.description,
            "updated_at": product.updated_at}


def _write_snapshot(sessions: sessionmaker[Session], job: JobView, store_id: str,
                    groups: Iterable[GroupRecord], products: Iterable[ProductRecord]) -> int:
    group_list, product_list = list(groups), list(products)
    with sessions.begin() as session:
        snapshot = CatalogSnapshot(connection_id=job.connection_id, store_id=store_id, job_id=job.id,
                                   state=SnapshotState.LOADING, created_at=utcnow(),
                                   group_count=len(group_list), product_count=len(product_list))
        session.add(snapshot)
        session.flush()
        snapshot_id = snapshot.id
    # Loading rows are invisible to readers; write them in chunks so no transaction runs long.
    # Core executemany on the tables: one statement per chunk (the ORM's bulk path splits rows by
    # which values are None, which turned 5,000 products into thousands of statements).
    # Rows are made a chunk at a time: the records are already held once, not twice.
    for start in range(0, len(group_list), INSERT_CHUNK):
        with sessions.begin() as session:
            session.connection().execute(insert(CATALOG_GROUPS), [
                _group_row(snapshot_id, g) for g in group_list[start:start + INSERT_CHUNK]])
    for start in range(0, len(product_list), INSERT_CHUNK):
        with sessions.begin() as session:
            session.connection().execute(insert(CATALOG_PRODUCTS), [
                _product_row(snapshot_id, p) for p in product_list[start:start + INSERT_CHUNK]])
    return snapshot_id


def _swap(sessions: sessionmaker[Session], connection_id: int, store_id: str, snapshot_id: int) -> None:
    """Make the new snapshot current and retire the old one in one transaction; then delete it."""
    same_store = and_(CatalogSnapshot.connection_id == connection_id, CatalogSnapshot.store_id == store_id)
    with write_locked(sessions) as session:
        session.execute(update(CatalogSnapshot).where(same_store, CatalogSnapshot.state == SnapshotState.CURRENT)
                        .values(state=SnapshotState.RETIRED))
        session.execute(update(CatalogSnapshot).where(CatalogSnapshot.id == snapshot_id)
                        .values(state=SnapshotState.CURRENT, completed_at=utcnow()))
        session.commit()
    with write_locked(sessions) as session:
        session.execute(delete(CatalogSnapshot).where(same_store, CatalogSnapshot.state == SnapshotState.RETIRED))
        session.commit()
