"""The sync run: one user's products in the sync, published to the chosen community's goods.

One run, in phases (each recorded on the run row and printed as one line):

1. **Settings.** The sync must be on (confirmed) and ready (`connhub.sync.status`).
2. **Catalog.** When the store's catalog copy is older than the refresh interval, the run asks for
   a refresh (the catalog's own job, run by the sidecar's catalog worker) and waits for that job,
   with a deadline; the run never runs catalog jobs itself. A refresh that fails or does not end
   in time leaves the last copy in use, and the run says so.
3. **Plan.** The catalog is read once (`selection.selected_facts`: the rules' selection and the
   selected products); `mapping.map_product` says what each becomes, once per product, its image
   (`connhub.ports.images`) looked up first. The community's items are listed and `plan.make_plan`
   decides what to add, edit, hide, delete and adopt, writing nothing. With modifications as
   variants on, `variant_run.VariantRun` first makes the qualifying modifications variants.
4. **Writes.** `publisher.Publisher` uploads the photos and makes the plan's writes through the
   target's `GoodsTarget` (`connhub.ports.goods`); then the albums and the item groups. A dry run
   stops after the plan.

The source and the target are the providers offering a catalog and goods
(`connhub.providers.capabilities`, `roles.py`); this package names neither.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from connhub.catalog import refresh
from connhub.catalog.worker import open_source
from connhub.models import CatalogRefreshJob, RefreshSource, RefreshState, SyncItem, SyncRunState, utcnow
from connhub.ports.errors import ProviderError
from connhub.ports.goods import GoodsTarget
from connhub.ports.images import ImageRef, ProductImageSource
from connhub.providers.capabilities import GOODS, PRODUCT_IMAGES
from connhub.runtime import Runtime
from connhub.sync import items as mapping_table
from connhub.sync import runs, texts
from connhub.sync.album_run import AlbumRun
from connhub.sync.albums import AlbumMode
from connhub.sync.forecast import Forecast, mapped_selection, policy_of
from connhub.sync.images import CachedImages
from connhub.sync.mapping import ProductFacts, Skipped, with_image
from connhub.sync.plan import Plan, Row, Wanted, in_flight_wait, make_plan
from connhub.sync.policies import RemovedPolicy
from connhub.sync.publisher import Publisher, StopRun
from connhub.sync.run_record import RunRecorder
from connhub.sync.selection import selected_facts
from connhub.sync.shop_options import get_options
from connhub.sync.status import SyncStatus, sync_status
from connhub.sync.tokens import fresh_token, goods_target
from connhub.sync.variant_run import VariantRun

log = logging.getLogger(__name__)

REFRESH_WAIT_SECONDS = 600.0  # the longest a run waits for its catalog refresh job
REFRESH_PICKUP_SECONDS = 10.0  # a job no sidecar took by then, the run runs itself
REFRESH_POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 10.0  # while waiting, the run row is saved this often (the run is alive)
PROGRESS_EVERY = 100  # the selection writes its progress every this many products …
PROGRESS_SECONDS = 1.0  # … or this often, whichever comes first

__all__ = ["Outcome", "StopRun", "SyncEngine"]


@dataclass(frozen=True)
class Outcome:
    state: str  # SyncRunState
    stop_reason: str
    stop_code: str
    counts: dict[str, int]
    plan: dict[str, Any]
    requests: int
    failures: list[dict[str, str]]


Checkpoint = Callable[[str], None]


def _no_checkpoint(_: str) -> None:
    return None


class SyncEngine:
    """One run for one user. `say` gets one line per phase; `checkpoint` names the steps (tests).
    `images` and `target` replace the providers' own (tests and benches)."""

    def __init__(self, rt: Runtime, user_id: int, recorder: RunRecorder, *, dry_run: bool = False,
                 images: ProductImageSource | None = None, target: GoodsTarget | None = None,
                 say: Callable[[str], None] = lambda line: None, checkpoint: Checkpoint = _no_checkpoint,
                 refresh_wait: float = REFRESH_WAIT_SECONDS, refresh_pickup: float = REFRESH_PICKUP_SECONDS,
                 catalog_max_age: timedelta | None = None) -> None:
        self.rt = rt
        self.catalog_max_age = catalog_max_age  # a scheduled run: refresh a copy older than its interval
        self.user_id = user_id
        self.recorder = recorder
        self.dry_run = dry_run
        self.images = images
        self.target = target
        self.say = say
        self.checkpoint = checkpoint
        self.refresh_wait = refresh_wait
        self.refresh_pickup = refresh_pickup
        self.store_id = ""
        self.group_id = 0
        self._facts: dict[str, ProductFacts] = {}

    # --- the run --------------------------------------------------------------------------------

    def run(self) -> Outcome:
        try:
            self._run()
        except StopRun as stop:
            self.recorder.end_step()
            self._phase(f"Остановлено: {stop.reason}")
            self.recorder.finish(SyncRunState.STOPPED, stop.reason)
            return self._outcome(SyncRunState.STOPPED, stop.reason, stop.code)
        except BaseException as error:  # killed or crashed: the next run picks up from the table
            reason = "Непредвиденная ошибка синхронизации" if isinstance(error, Exception) else "Прервано"
            if isinstance(error, Exception):
                log.exception("sync run %s failed", self.recorder.run_id)
            try:
                self.recorder.finish(SyncRunState.FAILED, reason)
            except Exception:  # noqa: BLE001 - the database may be the problem; the stale check closes it
                log.exception("could not record the end of sync run %s", self.recorder.run_id)
            raise
        self.recorder.finish(SyncRunState.FINISHED)
        return self._outcome(SyncRunState.FINISHED, "", "")

    def _outcome(self, state: str, reason: str, code: str) -> Outcome:
        return Outcome(state, reason, code, dict(self.recorder.counts), dict(self.recorder.plan),
                       self.recorder.requests, list(self.recorder.failures))

    def _phase(self, text: str) -> None:
        self.recorder.phase = text
        if self.target is not None:
            self.recorder.requests = self.target.requests
        self.recorder.save()
        self.say(text)

    def _run(self) -> None:
        self._phase("Проверка настроек")
        status = sync_status(self.rt, self.user_id)
        self._check_ready(status)
        settings = status.config.settings
        assert status.source is not None and status.target is not None and settings.vk_group_id is not None
        self.store_id, self.group_id = settings.store_id, settings.vk_group_id

        status = self._fresh_catalog(status)
        self.options = get_options(self.rt.sessions, self.user_id)
        source_id = status.source.id if status.source is not None else 0
        cache = self._provider_images(status) if self.images is None else None
        wanted, skipped = self._wanted(status, cache or self.images)
        if cache is not None and not self.dry_run:
            cache.save()
        images_seen = cache.figures() if cache is not None else {}  # in the run's plan figures
        if cache is not None:
            self.say(cache.figures_line())
        target = self.target = self.target or self._provider_target(status)

        self._phase(f"Чтение товаров сообщества: {target.service}")
        publisher = Publisher(target, self.rt.sessions, self.recorder, user_id=self.user_id, store_id=self.store_id,
                              group_id=self.group_id, phase=self._phase, say=self.say, checkpoint=self.checkpoint)
        listed = publisher.whole(lambda: target.items(self.group_id))
        rows = self._rows()
        wait = in_flight_wait(rows.values(), listed, utcnow(), target.write_deadline)
        if wait > 0:  # an interrupted run's add may still land: adding again now could make a twin
            self._phase(texts.waiting_for_lost_adds(wait))
            time.sleep(wait)
            listed = publisher.whole(lambda: target.items(self.group_id))
            rows = self._rows()
        variants = VariantRun(self.rt.sessions, target, user_id=self.user_id, store_id=self.store_id,
                              group_id=self.group_id, say=self.say, checkpoint=self.checkpoint)
        if self.options.variants:
            variants.prepare(wanted, self._facts, write=not self.dry_run)
        plan = make_plan(wanted, skipped, rows, listed, RemovedPolicy(settings.policies.on_removed),
                         self.options.hand_edits)
        self.recorder.plan = plan.summary() | images_seen | {"forecast": Forecast.of(
            [w.item for w in wanted.values()], skipped).as_dict()} | self._variants(variants)
        self.recorder.total = plan.writes
        self.recorder.count("unchanged", len(plan.unchanged))
        self.recorder.count("skipped", len(plan.skipped))
        self._phase(plan.line())
        if self.dry_run:
            return
        self._apply(plan)
        publisher.photos([*plan.adds, *(w for _, w in plan.edits)])
        self.recorder.progress(texts.PHASE_WRITES, 0, plan.writes, save=False)
        try:
            publisher.edits(plan.edits)
            publisher.removals(plan.hides, plan.deletes)
            publisher.adds(plan.adds, taken=plan.taken_skus)
        finally:
            self._result(wanted, skipped)
        if self.options.album_mode is not AlbumMode.OFF or self.options.variants:
            self._phase(texts.PHASE_SHOP_EXTRAS)  # albums and item groups take a few requests of their own
        albums = AlbumRun(self.rt.sessions, target, user_id=self.user_id, store_id=self.store_id,
                          group_id=self.group_id, connection_id=source_id,
                          say=self.say).run(self.options.album_mode, list(wanted))
        variants.group(listed)
        self.recorder.plan = {**self.recorder.plan, **({"albums": albums} if albums else {}),
                              **self._variants(variants)}
        counts = self.recorder.counts
        result = texts.result_text(self.recorder.plan, counts)
        self._phase(f"{texts.outcome_label(SyncRunState.FINISHED, counts['failed'])}: {result}; "
                    f"{texts.counts_text(counts)}")

    @staticmethod
    def _variants(variants: VariantRun) -> dict[str, Any]:
        return {"variants": variants.record} if variants.record else {}

    def _result(self, wanted: dict[str, Wanted], skipped: list[tuple[Skipped, str]]) -> None:
        """What the community now holds of the products in the sync: the forecast less the refused."""
        self.recorder.end_step()
        refused = {f["product_id"] for f in self.recorder.failures}
        kept = [w.item for pid, w in wanted.items() if pid not in refused]
        self.recorder.plan = self.recorder.plan | {"result": Forecast.of(kept, skipped).as_dict()}

    # --- phases ---------------------------------------------------------------------------------

    def _check_ready(self, status: SyncStatus) -> None:
        if not status.config.is_on:
            raise StopRun("Синхронизация выключена", "off")
        problems = status.readiness.problems
        if problems:
            raise StopRun("Не готово к синхронизации: " + "; ".join(p["message"] for p in problems), "not_ready")

    def _fresh_catalog(self, status: SyncStatus) -> SyncStatus:
        """Ask for a refresh of a stale copy and wait for that one job. The sidecar runs it; a job no
        sidecar has taken within `REFRESH_PICKUP_SECONDS` (cron without a sidecar) the run takes and
        runs itself: its own job, never anyone else's."""
        interval = timedelta(seconds=self.rt.settings.CATALOG_REFRESH_INTERVAL_SECONDS)
        if self.catalog_max_age is not None:
            interval = min(interval, self.catalog_max_age)
        refreshed = status.catalog_refreshed_at
        if refreshed is not None and utcnow() - refreshed < interval:
            return status
        assert status.source is not None
        self._phase(f"Обновление каталога {status.roles.source_title}")
        job = refresh.request_refresh(self.rt.sessions, status.source.id, store_id=self.store_id,
                                      source=RefreshSource.SCHEDULE, user_id=self.user_id)
        self.checkpoint("catalog_requested")
        started = time.monotonic()
        deadline = started + self.refresh_wait
        saved = started
        while True:
            with self.rt.sessions() as session:
                row = session.get(CatalogRefreshJob, job.id)
                finished, error, queued = ((row.finished_at, row.error, row.state == RefreshState.QUEUED)
                                           if row is not None else (utcnow(), "", False))
            if finished is not None:
                break
            now = time.monotonic()
            if queued and now - started >= min(self.refresh_pickup, self.refresh_wait):
                done = refresh.run_own(self.rt.sessions, job.id, f"sync-{runs.worker_id()}",
                                       partial(open_source, self.rt))
                if done is not None:
                    finished, error = done.finished_at, done.error
                    break
                continue  # a sidecar took it meanwhile: wait for it
            if now >= deadline:
                error = f"не обновился за {int(self.refresh_wait)} с"
                break
            if now - saved >= HEARTBEAT_SECONDS:  # the run is alive while it waits
                self.recorder.save()
                saved = now
            time.sleep(min(REFRESH_POLL_SECONDS, deadline - now))
        if error:
            self.say(f"Каталог не обновился ({error}); используется копия от прошлого обновления")
        return sync_status(self.rt, self.user_id)

    def _provider_images(self, status: SyncStatus) -> CachedImages | None:
        """The catalog provider's product images, when it offers them (`ProductImagesProvider`)."""
        source = status.source
        assert source is not None
        provider = self.rt.providers.offering(PRODUCT_IMAGES, source.provider)
        if provider is None:
            return None
        try:
            api = provider.product_images(fresh_token(self.rt, source))
        except ProviderError as error:
            self.say(f"Фото товаров недоступны: {error.reason}")
            return None
        return CachedImages(self.rt.sessions, self.user_id, source.id, self.store_id, api, say=self.say)

    def _provider_target(self, status: SyncStatus) -> GoodsTarget:
        """The target provider's goods for the connection's token (`GoodsProvider`)."""
        assert status.target is not None
        provider = self.rt.providers.offering(GOODS, status.target.provider)
        if provider is None:
            raise StopRun(f"У сервиса «{status.roles.target_title}» нет товаров")
        try:
            return goods_target(self.rt, provider, status.target)
        except ProviderError as error:
            raise StopRun(f"Токен {status.roles.target_title}: {error.reason}") from None

    def _wanted(self, status: SyncStatus, images: ProductImageSource | None,
                ) -> tuple[dict[str, Wanted], list[tuple[Skipped, str]]]:
        """The products in the sync, mapped once (`forecast.mapped_selection`, as the confirmation
        counts them), each image looked up with progress (issue 17)."""
        assert status.source is not None
        self._phase(texts.PHASE_SELECTING)
        found = selected_facts(self.rt.sessions, self.user_id, status.source.id, self.store_id)
        if found is None:
            raise StopRun("Каталог магазина ещё не загружен")
        selection, facts = found
        self._facts = facts
        published, skipped = mapped_selection(selection.product_ids, facts,
                                              policy_of(status.config.settings, stock=self.options.send_stock))
        wanted: dict[str, Wanted] = {}
        saved = time.monotonic()
        self.recorder.progress(texts.PHASE_SELECTING, 0, len(published))
        for n, one in enumerate(published, 1):
            mapped = one.item
            image: ImageRef | None = images(self.store_id, one.product_id) if images is not None else None
            if image is not None:
                mapped = with_image(mapped, image.key)
            wanted[one.product_id] = Wanted(one.product_id, one.name, mapped, image)
            if n % PROGRESS_EVERY == 0 or time.monotonic() - saved >= PROGRESS_SECONDS:
                self.recorder.progress(texts.PHASE_SELECTING, n, len(published))
                saved = time.monotonic()
        self.recorder.end_step()
        return wanted, skipped

    def _rows(self) -> dict[str, Row]:
        with self.rt.sessions() as session:
            rows = mapping_table.rows_for(session, self.user_id, self.store_id, self.group_id)
            return {pid: _row(row) for pid, row in rows.items()}

    def _apply(self, plan: Plan) -> None:
        """What the plan learnt about the mapping table: lost adds found, items gone."""
        for row_id, item_id in plan.adopt:
            mapping_table.adopt(self.rt.sessions, row_id, item_id)
        mapping_table.forget(self.rt.sessions, plan.forget)


def _row(row: SyncItem) -> Row:
    return Row(row.id, row.product_id, row.vk_item_id, row.state, row.fingerprint, dict(row.fields or {}),
               row.updated_at)

