"""The sync: one user's products in the sync, published to the chosen VK community's goods.

One run, in phases (each recorded on the run row and printed as one line):

1. **Settings.** The sync must be on (confirmed) and ready (`connhub.sync.status`).
2. **Catalog.** When the store's catalog copy is older than the refresh interval, it is
   refreshed first (the catalog's own refresh job, run here or by the sidecar).
3. **Plan.** The catalog's rules decide which products are in (`selection_for`, the one code
   path); `mapping.map_product` says what each becomes on VK. The community's items are listed
   (`market.get`, 200 a page), and the mapping table (`connhub.sync.items`) says which of them
   connhub made. A row left `pending` by an interrupted run is matched by `sku` (the Evotor
   product id): found, it is adopted; not found, the product is added again. A mapped item that
   is gone from VK (deleted by hand) is re-created. Items without a row are never touched.
4. **Photos.** A product image (`connhub.sync.images`: listed and downloaded from the catalog
   provider only when it may have changed) is padded to VK's minimum, uploaded once, and its
   photo id reused while the image (by hash) is unchanged.
5. **Writes.** Edits (full field set), hides (`deleted=1`) and deletes go through `execute`, 25 a
   request; adds too, with their rows written `pending` first and completed after. Unchanged
   products cost nothing.

Errors follow their class (`goods_errors.ErrorKind`): transient ones are retried by the client;
errors only the user can fix stop the run with a visible reason; data errors are fixed once and
retried alone; a product that still fails is reported and skipped.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, Protocol

from sqlalchemy import select

from connhub.catalog import queries, refresh
from connhub.catalog.worker import open_source
from connhub.crypto import Secret
from connhub.models import CatalogGroup, CatalogProduct, RefreshSource, SyncItem, SyncItemState, SyncRunState, utcnow
from connhub.providers import ProviderError
from connhub.providers.vk.api import CallResult, RateLimiter, VkApiError
from connhub.providers.vk.goods import Goods, MarketItem
from connhub.providers.vk.goods_errors import ErrorKind
from connhub.runtime import Runtime
from connhub.sync import items as mapping_table
from connhub.sync.config import SyncConfigView
from connhub.sync.images import CachedImages, ImageRef
from connhub.sync.mapping import (
    DESCRIPTION_MIN,
    NAME_MAX,
    MappingPolicy,
    ProductFacts,
    Skipped,
    VkItem,
    clean_line,
    cut_to,
    format_price,
    map_product,
    remove_links,
)
from connhub.sync.photos import PhotoError, UploadBreaker, pad_photo
from connhub.sync.policies import RemovedPolicy
from connhub.sync.runs import RunRecorder
from connhub.sync.selection import selection_for
from connhub.sync.status import SyncStatus, sync_status
from connhub.sync.tokens import fresh_token

log = logging.getLogger(__name__)

BATCH = 25  # calls per `execute`
REFRESH_WAIT_SECONDS = 600  # the longest a run waits for a catalog refresh the sidecar is doing
PHOTO_ERRORS = frozenset({1433, 1434, 1435})
# Anything VK might still read as a link after the mapper's own pass: a word with a dot between letters.
_DOTTED = re.compile(r"\S*[^\W\d_]\.[^\W\d_]{2,}\S*")


class StopRun(Exception):
    """The run cannot go on; `reason` is Russian and shown on the page and in the script's output."""

    def __init__(self, reason: str, code: str = "stopped") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code  # off | not_ready | stopped


class ImageSource(Protocol):
    """A product's image as the catalog provider gives it (bytes, or an `ImageRef` whose file is
    fetched only when needed), or None when it has none."""

    def __call__(self, store_id: str, product_id: str) -> bytes | ImageRef | None: ...


@dataclass
class Wanted:
    """One product in the sync, as it should look on VK."""

    product_id: str
    title: str  # for people: the Evotor name
    item: VkItem
    image: ImageRef | None = None
    photo_id: int | None = None


@dataclass
class Plan:
    adds: list[Wanted] = field(default_factory=list)
    edits: list[tuple[SyncItem, Wanted]] = field(default_factory=list)
    hides: list[SyncItem] = field(default_factory=list)
    deletes: list[SyncItem] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # product id, title, reason
    names: dict[str, str] = field(default_factory=dict)  # product id → title, for reports

    def summary(self) -> dict[str, Any]:
        """The lists a dry run shows (product id and name each)."""
        def named(ids: Iterable[str]) -> list[dict[str, str]]:
            return [{"product_id": pid, "name": self.names.get(pid, pid)} for pid in ids]
        return {
            "add": named(w.product_id for w in self.adds),
            "change": named(w.product_id for _, w in self.edits),
            "hide": named(row.product_id for row in self.hides),
            "delete": named(row.product_id for row in self.deletes),
            "unchanged": len(self.unchanged),
            "skip": [{"product_id": pid, "name": title, "reason": reason} for pid, title, reason in self.skipped],
        }


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
    """One run for one user. `say` gets one line per phase; `checkpoint` names the steps (tests)."""

    def __init__(self, rt: Runtime, user_id: int, recorder: RunRecorder, *, dry_run: bool = False,
                 images: ImageSource | None = None, goods: Goods | None = None,
                 say: Callable[[str], None] = lambda line: None, checkpoint: Checkpoint = _no_checkpoint,
                 limiter: RateLimiter | None = None) -> None:
        self.rt = rt
        self.user_id = user_id
        self.recorder = recorder
        self.dry_run = dry_run
        self.images = images
        self.goods = goods
        self.say = say
        self.checkpoint = checkpoint
        self.limiter = limiter
        self.store_id = ""
        self.group_id = 0
        self._skipped_names: dict[str, str] = {}
        self._breaker = UploadBreaker()  # photo uploads stop for the run after 3 failures in a row

    # --- the run --------------------------------------------------------------------------------

    def run(self) -> Outcome:
        try:
            self._run()
        except StopRun as stop:
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
        self._sync_requests()
        self.recorder.save()
        self.say(text)

    def _sync_requests(self) -> None:
        if self.goods is not None:
            self.recorder.requests = self.goods.api.requests

    def _run(self) -> None:
        self._phase("Проверка настроек")
        status = sync_status(self.rt, self.user_id)
        self._check_ready(status)
        config = status.config
        settings = config.settings
        target = status.target
        assert status.source is not None and target is not None and settings.vk_group_id is not None
        self.store_id, self.group_id = settings.store_id, settings.vk_group_id

        status = self._fresh_catalog(status)
        if self.images is None:
            self.images = self._provider_images(status)
        wanted, skipped = self._wanted(status, config)

        if self.goods is None:
            try:
                token = fresh_token(self.rt, target)
            except ProviderError as error:
                raise StopRun(f"Токен ВКонтакте: {error.reason}") from None
            self.goods = goods_client(self.rt, target.provider, token)
            if self.limiter is not None:
                self.goods.api.limiter = self.limiter

        self._phase("Чтение товаров сообщества ВКонтакте")
        goods = self.goods
        on_vk = self._vk_call(lambda: goods.items(self.group_id))
        plan = self._plan(wanted, skipped, on_vk, RemovedPolicy(settings.policies.on_removed))
        self.recorder.plan = plan.summary()
        self.recorder.total = len(plan.adds) + len(plan.edits) + len(plan.hides) + len(plan.deletes)
        self.recorder.count("unchanged", len(plan.unchanged))
        self.recorder.count("skipped", len(plan.skipped))
        self._phase(f"План: добавить {len(plan.adds)}, изменить {len(plan.edits)}, скрыть {len(plan.hides)}, "
                    f"удалить {len(plan.deletes)}, без изменений {len(plan.unchanged)}, "
                    f"пропустить {len(plan.skipped)}")
        if self.dry_run:
            return

        self._photos([w for w in plan.adds] + [w for _, w in plan.edits])
        self._edits(plan.edits)
        self._removals(plan.hides, plan.deletes)
        self._adds(plan.adds)
        counts = self.recorder.counts
        self._phase(f"Готово: добавлено {counts['added']}, изменено {counts['changed']}, скрыто {counts['hidden']}, "
                    f"удалено {counts['deleted']}, без изменений {counts['unchanged']}, "
                    f"ошибок {counts['failed']}")

    # --- phases ---------------------------------------------------------------------------------

    def _check_ready(self, status: SyncStatus) -> None:
        if not status.config.is_on:
            raise StopRun("Синхронизация выключена", "off")
        problems = status.readiness.problems
        if problems:
            raise StopRun("Не готово к синхронизации: " + "; ".join(p["message"] for p in problems), "not_ready")

    def _fresh_catalog(self, status: SyncStatus) -> SyncStatus:
        interval = timedelta(seconds=self.rt.settings.CATALOG_REFRESH_INTERVAL_SECONDS)
        refreshed = status.catalog_refreshed_at
        if refreshed is not None and utcnow() - refreshed < interval:
            return status
        assert status.source is not None
        self._phase("Обновление каталога Эвотор")
        job = refresh.request_refresh(self.rt.sessions, status.source.id, store_id=self.store_id,
                                      source=RefreshSource.SCHEDULE, user_id=self.user_id)
        refresh.run_pending(self.rt.sessions, f"sync-{self.recorder.run_id}",
                            lambda cid: open_source(self.rt, cid))
        deadline = time.monotonic() + REFRESH_WAIT_SECONDS
        while True:  # the sidecar may hold the job: wait for it to finish
            with self.rt.sessions() as session:
                latest = refresh.latest_job(session, status.source.id)
            if latest is None or latest.id != job.id or not latest.active:
                break
            if time.monotonic() > deadline:
                raise StopRun("Каталог Эвотор не обновился вовремя")
            time.sleep(1)
        with self.rt.sessions() as session:
            finished = refresh.last_finished_job(session, status.source.id, self.store_id, succeeded=False)
        if finished is not None and finished.id == job.id and finished.error:
            self.say(f"Каталог не обновился ({finished.error}); используется копия от прошлого обновления")
        return sync_status(self.rt, self.user_id)

    def _provider_images(self, status: SyncStatus) -> ImageSource | None:
        """The catalog provider's product images, when it offers them: `product_images(token)` gives
        its image API (list and download, used through `CachedImages`) or a function
        (store id, product id) → image bytes or None."""
        source = status.source
        assert source is not None
        factory = getattr(self.rt.providers.get(source.provider), "product_images", None)
        if not callable(factory):
            return None
        try:
            images = factory(fresh_token(self.rt, source))
        except ProviderError as error:
            self.say(f"Фото товаров недоступны: {error.reason}")
            return None
        if callable(getattr(images, "image", None)) and callable(getattr(images, "download", None)):
            return CachedImages(self.rt.sessions, self.user_id, source.id, self.store_id, images, say=self.say)
        found: ImageSource = images
        return found

    def _wanted(self, status: SyncStatus, config: SyncConfigView) -> tuple[dict[str, Wanted], list[Skipped]]:
        assert status.source is not None
        self._phase("Отбор товаров по правилам каталога")
        selection = selection_for(self.rt.sessions, self.user_id, status.source.id, self.store_id)
        if selection is None:
            raise StopRun("Каталог магазина ещё не загружен")
        settings = config.settings
        policy = MappingPolicy(
            multiplier=settings.policies.price_multiplier, zero_price=settings.policies.on_zero_price,
            not_for_sale=settings.policies.on_not_for_sale, template=settings.policies.description_template,
            category_id=settings.vk_category_id,
        )
        facts = load_facts(self.rt, self.user_id, status.source.id, self.store_id, selection.product_ids)
        wanted: dict[str, Wanted] = {}
        skipped: list[Skipped] = []
        for product_id in selection.product_ids:
            fact = facts.get(product_id)
            if fact is None:
                continue
            mapped = map_product(fact, policy)
            image: ImageRef | None = None
            if not isinstance(mapped, Skipped) and self.images is not None:  # never for a skipped one
                got = self.images(self.store_id, product_id)
                image = ImageRef.of(got) if isinstance(got, bytes) else got
                if image is not None:
                    mapped = map_product(dataclasses.replace(fact, image=image.key), policy)
            if isinstance(mapped, Skipped):
                skipped.append(mapped)
                self._skipped_names[product_id] = fact.name
            else:
                wanted[product_id] = Wanted(product_id, fact.name, mapped, image)
        save = getattr(self.images, "save", None)
        if callable(save) and not self.dry_run:
            save()
        return wanted, skipped

    def _plan(self, wanted: dict[str, Wanted], skipped: list[Skipped], on_vk: list[MarketItem],
              on_removed: RemovedPolicy) -> Plan:
        plan = Plan()
        plan.names = {pid: w.title for pid, w in wanted.items()} | dict(self._skipped_names)
        by_id = {item.id: item for item in on_vk}
        with self.rt.sessions() as session:
            rows = mapping_table.rows_for(session, self.user_id, self.store_id, self.group_id)
            session.expunge_all()
        claimed = {row.vk_item_id for row in rows.values() if row.vk_item_id is not None}
        by_sku: dict[str, MarketItem] = {}
        for item in on_vk:
            if item.sku and item.id not in claimed:
                by_sku.setdefault(item.sku, item)
        gone: list[int] = []
        for product_id, row in rows.items():
            if row.vk_item_id is None:  # pending: did the add happen before the run was cut short?
                found = by_sku.get(product_id)
                if found is not None and not self.dry_run:
                    mapping_table.adopt(self.rt.sessions, row.id, found.id)
                    row.vk_item_id, row.state, row.fingerprint = found.id, SyncItemState.SYNCED, ""
                elif found is not None:
                    row.vk_item_id, row.state, row.fingerprint = found.id, SyncItemState.SYNCED, ""
            elif row.vk_item_id not in by_id:  # deleted on VK by hand: re-create it if still wanted
                gone.append(row.id)
                row.vk_item_id = None
        if gone and not self.dry_run:
            mapping_table.forget(self.rt.sessions, gone)
        for product_id, want in wanted.items():
            mapped = rows.get(product_id)
            if mapped is None or mapped.vk_item_id is None:
                plan.adds.append(want)
            elif mapped.state == SyncItemState.SYNCED and mapped.fingerprint == want.item.fingerprint:
                plan.unchanged.append(product_id)
            else:
                plan.edits.append((mapped, want))
        for skip in skipped:
            plan.skipped.append((skip.product_id, plan.names.get(skip.product_id, skip.product_id), skip.message))
        for product_id, row in rows.items():
            if product_id in wanted or row.vk_item_id is None:
                continue
            if on_removed is RemovedPolicy.DELETE:
                plan.deletes.append(row)
            elif row.state != SyncItemState.HIDDEN:
                plan.hides.append(row)
        return plan

    # --- VK calls -------------------------------------------------------------------------------

    def _vk_call(self, call: Callable[[], Any]) -> Any:
        """A call whose failure concerns the whole run (listing, a whole batch)."""
        try:
            return call()
        except VkApiError as error:
            if error.kind is ErrorKind.RETRY:
                raise StopRun(f"ВКонтакте не отвечает: {error.reason}") from None
            if error.stops_run or error.kind is ErrorKind.USER_ACTION:
                raise StopRun(error.reason) from None
            raise StopRun(f"ВКонтакте отказал: {error.reason}") from None
        finally:
            self._sync_requests()

    def _progress(self, n: int) -> None:
        self.recorder.done += n
        self._sync_requests()
        self.recorder.save()

    # --- photos ---------------------------------------------------------------------------------

    def _photos(self, wanted: Sequence[Wanted], *, fresh: bool = False) -> None:
        need = [w for w in wanted if w.image is not None and w.item.image is not None]
        if not need:
            return
        self._phase("Фото товаров")
        with self.rt.sessions() as session:
            known = {} if fresh else mapping_table.photo_ids(session, self.group_id, [w.item.image or "" for w in need])
        uploads: dict[str, Wanted] = {}
        for w in need:
            key = w.item.image or ""
            if key in known:
                w.photo_id = known[key]
            else:
                uploads.setdefault(key, w)
        todo = list(uploads.items())
        saved: dict[str, int] = {}
        for start in range(0, len(todo), BATCH):
            chunk = todo[start:start + BATCH]
            goods = self.goods
            assert goods is not None
            urls = [None] * len(chunk) if self._breaker.open else self._vk_call(
                partial(goods.upload_urls, self.group_id, len(chunk)))
            replies: list[tuple[str, str]] = []
            for (key, w), url in zip(chunk, urls, strict=True):  # one image at a time: load, pad, upload
                if self._breaker.open or url is None:  # said once when it opened; no new photo for the item
                    w.item = dataclasses.replace(w.item, image=None, fingerprint="")
                    continue
                if isinstance(url, VkApiError):
                    self._stop_if_run_level(url)
                    self._note_photo_failure(w, url.reason)
                    continue
                try:
                    photo = pad_photo(w.image.load() if w.image is not None else b"")
                    replies.append((key, goods.api.upload(url, filename=photo.filename, data=photo.data)))
                    self._breaker.succeeded()
                except (PhotoError, ProviderError) as error:
                    self._note_photo_failure(w, error.reason)
                    if isinstance(error, VkApiError) and self._breaker.failed(error.reason):
                        self.say(self._breaker.reason or "")
            if not replies:
                continue
            ids = self._vk_call(partial(goods.save_photos, [reply for _, reply in replies]))
            for (key, _), photo_id in zip(replies, ids, strict=True):
                if isinstance(photo_id, VkApiError):
                    self._stop_if_run_level(photo_id)
                    self._note_photo_failure(uploads[key], photo_id.reason)
                else:
                    saved[key] = photo_id
            mapping_table.remember_photos(self.rt.sessions, self.group_id, saved)
        for w in need:
            key = w.item.image or ""
            if w.photo_id is None and key in saved:
                w.photo_id = saved[key]

    def _note_photo_failure(self, w: Wanted, reason: str) -> None:
        """A photo that cannot be had: the item goes up without it (and is retried next run)."""
        self.say(f"Фото «{w.title}» не загружено: {reason}")
        w.item = dataclasses.replace(w.item, image=None, fingerprint="")

    def _stop_if_run_level(self, error: VkApiError) -> None:
        if error.stops_run:
            raise StopRun(error.reason)

    # --- edits, hides, deletes ------------------------------------------------------------------

    def _edits(self, edits: list[tuple[SyncItem, Wanted]]) -> None:
        if not edits:
            return
        self._phase(f"Изменение товаров: {len(edits)}")
        goods = self.goods
        assert goods is not None
        recreate: list[Wanted] = []
        for start in range(0, len(edits), BATCH):
            chunk = edits[start:start + BATCH]
            calls = [(row.vk_item_id or 0, w.item.params(), w.photo_id) for row, w in chunk]
            results: list[CallResult] = self._vk_call(partial(goods.edit_many, self.group_id, calls))
            done: dict[str, tuple[int, str, dict[str, Any], str | None]] = {}
            for (row, w), result in zip(chunk, results, strict=True):
                item_id = row.vk_item_id or 0
                if result.error is None:
                    done[w.product_id] = (item_id, w.item.fingerprint, w.item.params(), w.item.image)
                    continue
                error = result.error
                self._stop_if_run_level(error)
                if error.kind is ErrorKind.ITEM_GONE:
                    mapping_table.forget(self.rt.sessions, [row.id])
                    recreate.append(w)
                    continue
                fixed = self._retry_fixed(error, w, partial(self._edit_one, goods, item_id))
                if fixed is not None:
                    done[w.product_id] = (item_id, w.item.fingerprint, fixed, w.item.image)
                else:
                    self.recorder.fail(w.product_id, w.title, self._reason(error))
            mapping_table.complete(self.rt.sessions, self.user_id, self.store_id, self.group_id, done)
            self.recorder.count("changed", len(done))
            self._progress(len(chunk))
        if recreate:
            self._adds(recreate, counted=False)

    def _removals(self, hides: list[SyncItem], deletes: list[SyncItem]) -> None:
        goods = self.goods
        assert goods is not None
        if hides:
            self._phase(f"Скрытие товаров: {len(hides)}")
        for start in range(0, len(hides), BATCH):
            chunk = hides[start:start + BATCH]
            results = self._vk_call(partial(
                goods.hide_many, self.group_id, [(row.vk_item_id or 0, _without_photo(row.fields)) for row in chunk]))
            hidden, gone = [], []
            for row, result in zip(chunk, results, strict=True):
                if result.error is None:
                    hidden.append(row.id)
                elif result.error.kind is ErrorKind.ITEM_GONE:
                    gone.append(row.id)  # deleted by hand: nothing left to hide
                else:
                    self._stop_if_run_level(result.error)
                    self.recorder.fail(row.product_id, str(row.fields.get("name") or row.product_id),
                                       self._reason(result.error))
            mapping_table.set_state(self.rt.sessions, hidden, SyncItemState.HIDDEN, fingerprint="")
            mapping_table.forget(self.rt.sessions, gone)
            self.recorder.count("hidden", len(hidden) + len(gone))
            self._progress(len(chunk))
        if deletes:
            self._phase(f"Удаление товаров: {len(deletes)}")
        for start in range(0, len(deletes), BATCH):
            chunk = deletes[start:start + BATCH]
            results = self._vk_call(partial(goods.delete_many, self.group_id, [row.vk_item_id or 0 for row in chunk]))
            removed = []
            for row, result in zip(chunk, results, strict=True):
                if result.error is None or result.error.kind is ErrorKind.ITEM_GONE:
                    removed.append(row.id)
                else:
                    self._stop_if_run_level(result.error)
                    self.recorder.fail(row.product_id, str(row.fields.get("name") or row.product_id),
                                       self._reason(result.error))
            mapping_table.forget(self.rt.sessions, removed)
            self.recorder.count("deleted", len(removed))
            self._progress(len(chunk))

    # --- adds -----------------------------------------------------------------------------------

    def _adds(self, adds: list[Wanted], *, counted: bool = True) -> None:
        if not adds:
            return
        self._phase(f"Добавление товаров: {len(adds)}")
        goods = self.goods
        assert goods is not None
        for start in range(0, len(adds), BATCH):
            chunk = adds[start:start + BATCH]
            mapping_table.mark_pending(self.rt.sessions, self.user_id, self.store_id, self.group_id,
                                       [w.product_id for w in chunk])
            self.checkpoint("before_add")
            results: list[CallResult] = self._vk_call(partial(
                goods.add_many, self.group_id, [(w.item.params(), w.photo_id) for w in chunk]))
            self.checkpoint("after_add")
            done: dict[str, tuple[int, str, dict[str, Any], str | None]] = {}
            stop: VkApiError | None = None
            for w, result in zip(chunk, results, strict=True):
                item_id = _added_id(result)
                if item_id is not None:
                    done[w.product_id] = (item_id, w.item.fingerprint, w.item.params(), w.item.image)
                    continue
                error = result.error or VkApiError("ВКонтакте не вернул номер товара", kind=ErrorKind.ITEM_FAILED,
                                                   method="market.add", error_code=None)
                if error.stops_run:
                    stop = stop or error
                    continue
                fixed_id: list[int] = []
                fixed = self._retry_fixed(error, w, partial(self._add_one, goods, fixed_id))
                if fixed is not None and fixed_id:
                    done[w.product_id] = (fixed_id[0], w.item.fingerprint, fixed, w.item.image)
                else:
                    self.recorder.fail(w.product_id, w.title, self._reason(error))
            mapping_table.complete(self.rt.sessions, self.user_id, self.store_id, self.group_id, done)
            self.recorder.count("added" if counted else "changed", len(done))
            self._progress(len(chunk))
            if stop is not None:
                raise StopRun(stop.reason)

    def _add_one(self, goods: Goods, added: list[int], params: dict[str, Any], photo_id: int | None) -> None:
        added.append(goods.add(self.group_id, params, main_photo_id=photo_id))

    def _edit_one(self, goods: Goods, item_id: int, params: dict[str, Any], photo_id: int | None) -> None:
        goods.edit(self.group_id, item_id, params, main_photo_id=photo_id)

    # --- data fixes -----------------------------------------------------------------------------

    def _retry_fixed(self, error: VkApiError, w: Wanted,
                     send: Callable[[dict[str, Any], int | None], None]) -> dict[str, Any] | None:
        """A data error: fix the fields once, send this item alone; the fields sent, or None."""
        if error.kind is not ErrorKind.DATA_FIX:
            return None
        params = w.item.params()
        photo_id = w.photo_id
        if error.error_code in PHOTO_ERRORS and w.image is not None and w.item.image is not None:
            mapping_table.forget_photo(self.rt.sessions, self.group_id, w.item.image)
            self._photos([w], fresh=True)
            photo_id = w.photo_id
        else:
            params = fix_fields(params, error.error_code)
        try:
            send(params, photo_id)
        except VkApiError as again:
            self._stop_if_run_level(again)
            log.info("product %s still refused after a fix: %s", w.product_id, again.reason)
            return None
        return params

    @staticmethod
    def _reason(error: VkApiError) -> str:
        return f"{error.reason} (код {error.error_code})" if error.error_code is not None else error.reason


def goods_client(rt: Runtime, provider_key: str, token: Secret) -> Goods:
    """The goods API of the target provider for one token (the provider knows its own URL and limits)."""
    factory = getattr(rt.providers.get(provider_key), "goods", None)
    if not callable(factory):
        raise StopRun("У выбранного сервиса нет товаров")
    client = factory(token)
    assert isinstance(client, Goods)
    return client


def fix_fields(params: dict[str, Any], code: int | None) -> dict[str, Any]:
    """The fields changed the way VK's data error asks: links out, a shorter name, a longer text."""
    fixed = dict(params)
    name = clean_line(str(fixed.get("name") or ""))
    if code == 1421 or len(name) > NAME_MAX:
        fixed["name"] = cut_to(name, NAME_MAX * 3 // 4)
    description = remove_links(str(fixed.get("description") or ""))
    description = _DOTTED.sub("", description)
    description = " ".join(description.split())
    if len(description) < DESCRIPTION_MIN:
        description = f"{fixed['name']}. Цена: {format_price(_decimal(fixed.get('price')))}"
    fixed["description"] = description
    if code == 100 and len(str(fixed["name"])) < 4:
        fixed["name"] = f"Товар {fixed['name']}".strip()
    return fixed


def _decimal(value: Any) -> Any:
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def _without_photo(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if key not in ("main_photo_id", "photo_ids", "deleted")}


def _added_id(result: CallResult) -> int | None:
    if result.error is not None or not isinstance(result.response, dict):
        return None
    value = result.response.get("market_item_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- the catalog side -----------------------------------------------------------------------------


def load_facts(rt: Runtime, user_id: int, connection_id: int, store_id: str,
               product_ids: Sequence[str]) -> dict[str, ProductFacts]:
    """The selected products of the store's current catalog copy, as the mapper reads them; a
    modification carries its choice names in its attribute order."""
    wanted = set(product_ids)
    out: dict[str, ProductFacts] = {}
    with rt.sessions() as session:
        snapshot = queries.current_snapshot(session, user_id, connection_id, store_id)
        if snapshot is None:
            return out
        groups = {g.id: g for g in session.scalars(select(CatalogGroup).where(
            CatalogGroup.snapshot_id == snapshot.id, CatalogGroup.is_modification_group.is_(True)))}
        rows = session.scalars(select(CatalogProduct).where(CatalogProduct.snapshot_id == snapshot.id))
        for row in rows:
            if row.id not in wanted:
                continue
            out[row.id] = ProductFacts(
                id=row.id, name=row.name, measure=row.measure or "", article=row.article,
                description=row.description, price=row.price, quantity=row.quantity,
                allow_to_sell=row.allow_to_sell if row.allow_to_sell is not None else True, type=row.type or "",
                choices=choice_names(groups.get(row.group_id or ""), row.attributes_choices),
            )
    return out


def choice_names(group: CatalogGroup | None, chosen: dict[str, str] | None) -> tuple[str, ...]:
    if group is None or not chosen:
        return ()
    names: list[str] = []
    for attribute in group.attributes or []:
        if not isinstance(attribute, dict):
            continue
        choice_id = chosen.get(str(attribute.get("id")))
        for choice in attribute.get("choices") or []:
            if isinstance(choice, dict) and choice.get("id") == choice_id and choice.get("name"):
                names.append(str(choice["name"]))
    return tuple(names)
