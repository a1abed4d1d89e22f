"""The paging runner of one catalog refresh job: every provider request within the source's
`RefreshBounds` (pages, requests, seconds, records read; a cursor given twice), a rate limit waited
out within a budget, progress written as it goes, then each store's snapshot written and swapped in
(`connhub.catalog.swap`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from connhub.catalog.jobs import LEASE, JobView
from connhub.catalog.swap import break_cycles, save_stores, swap, write_snapshot
from connhub.models import CatalogRefreshJob, utcnow
from connhub.ports.catalog import CatalogSource, Page, StoreRecord
from connhub.ports.errors import ProviderError

# How long a job will wait out the provider's rate limit in total before it gives up.
MAX_RATE_LIMIT_WAIT_SECONDS = 120.0
# How many problems a job names (it counts them all).
MAX_PROBLEMS = 10

T = TypeVar("T")


class JobFailed(Exception):
    def __init__(self, reason: str, code: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.reason = reason
        self.code = code


class Runner:
    """One job's run: its requests, pages and items counted against the source's bounds."""

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
        save_stores(self.sessions, self.job.connection_id, stores)
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
        snapshot_id = write_snapshot(self.sessions, self.job, store_id, tree, products.values())
        swap(self.sessions, self.job.connection_id, store_id, snapshot_id)
