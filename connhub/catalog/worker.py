"""The sidecar's side of catalog refreshes: queue the scheduled ones, run whatever is queued.

The checker ticks `CatalogWorker` (a `connhub.work.workers.Worker`) every few seconds. A tick
never blocks the loop: it queues the scheduled refreshes, and while jobs are waiting it starts
background threads (at most CATALOG_CONCURRENCY in this process) that claim and run them, so
health checks go on while catalogs load. Which
providers have a catalog, and how to open one account's catalog, is asked of the provider
registry; nothing here names a provider.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import func, select

from connhub.catalog import refresh
from connhub.crypto import UNREADABLE_MESSAGE, UnreadableToken
from connhub.models import CatalogRefreshJob, Connection, RefreshState
from connhub.ports.catalog import CatalogSource
from connhub.ports.errors import ProviderError
from connhub.providers.capabilities import CATALOG
from connhub.runtime import Runtime
from connhub.work.workers import BackgroundWorker

log = logging.getLogger(__name__)

# How often the checker looks for refresh requests: a click on «Обновить каталог» starts within this.
CATALOG_TICK_SECONDS = 2


def open_source(rt: Runtime, connection_id: int) -> CatalogSource:
    """The connection's catalog, with its token opened only here, at the moment of use."""
    with rt.sessions() as session:
        row = session.get(Connection, connection_id)
        if row is None:
            raise ProviderError("Подключение удалено", permanent=True, code="gone")
        provider_key, sealed = row.provider, row.access_token_sealed
    provider = rt.providers.offering(CATALOG, provider_key)
    if provider is None:
        raise ProviderError("У этого сервиса нет каталога", permanent=True, code="no_catalog")
    try:
        token = rt.cipher.open(sealed)
    except UnreadableToken:
        raise ProviderError(UNREADABLE_MESSAGE, permanent=True, code="unreadable_token") from None
    return provider.catalog_source(token)


class CatalogWorker:
    name = "catalog"
    every: int = CATALOG_TICK_SECONDS

    def __init__(self, rt: Runtime, worker_id: str, stop: threading.Event) -> None:
        self.rt = rt
        self.worker_id = worker_id
        self.stop = stop
        self._runner = BackgroundWorker("catalog-refresh", self.every, has_work=self._has_work,
                                        work=self.run_pending, before_tick=self._queue_scheduled,
                                        concurrency=rt.settings.CATALOG_CONCURRENCY, waiting=self._waiting)

    def _queue_scheduled(self) -> None:
        interval = timedelta(seconds=self.rt.settings.CATALOG_REFRESH_INTERVAL_SECONDS)
        queued = refresh.request_due_refreshes(self.rt.sessions, providers=refresh.catalog_providers(self.rt),
                                               interval=interval)
        if queued:
            log.info("catalog: queued %d scheduled refreshes", queued)

    def _has_work(self) -> bool:
        with self.rt.sessions() as session:
            return session.scalar(select(CatalogRefreshJob.id).where(
                CatalogRefreshJob.finished_at.is_(None),
                CatalogRefreshJob.state.in_([RefreshState.QUEUED, RefreshState.RUNNING])).limit(1)) is not None

    def _waiting(self) -> int:
        with self.rt.sessions() as session:
            return session.scalar(select(func.count(CatalogRefreshJob.id)).where(
                CatalogRefreshJob.finished_at.is_(None), CatalogRefreshJob.state == RefreshState.QUEUED)) or 0

    def run_pending(self) -> list[refresh.JobView]:
        """Run every claimable job now, in this thread (the `--once` path and the thread's body)."""
        return refresh.run_pending(self.rt.sessions, self.worker_id, lambda cid: open_source(self.rt, cid),
                                   wait=lambda seconds: self.stop.wait(seconds),
                                   should_stop=self.stop.is_set)

    def run_pending_pool(self) -> list[refresh.JobView]:
        """Run every queued job now on the pool (CATALOG_CONCURRENCY threads), and wait for them."""
        result = self._runner.run_pool()
        return [job for job in result if isinstance(job, refresh.JobView)]

    def run_once(self) -> list[refresh.JobView]:
        """Queue what the schedule says is due, then run everything queued (`checker.py --once`)."""
        self._queue_scheduled()
        return self.run_pending_pool()

    def tick(self) -> None:
        """Queue what is due, and start the refresh thread if there is work and none is running."""
        self._runner.tick()

    def join(self, timeout: float | None = None) -> None:
        self._runner.join(timeout)
