"""The publisher: a plan's writes, through the target's `GoodsTarget` (`connhub.ports.goods`).

Batches of `target.batch_size`. Adds have their rows written `pending` first (with the ids of the
items already carrying the product's sku, so a later run adopts only the item this add made) and
completed after. What a failure does follows its `GoodsErrorKind`: one that needs the user stops
the run with its reason (after recording what the batch did); a data error is fixed once and the
item sent alone; an item gone at the target is made again; anything else is that product's failure,
reported, and the run goes on.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from connhub.models import SyncItemState
from connhub.ports.errors import ProviderError
from connhub.ports.goods import Draft, GoodsError, GoodsErrorKind, GoodsTarget, Photo, PhotoFile
from connhub.sync import items as mapping_table
from connhub.sync import texts
from connhub.sync.mapping import DESCRIPTION_MIN, NAME_MAX, clean_line, cut_to, format_price, remove_links
from connhub.sync.photos import PhotoError, pad_photo
from connhub.sync.plan import NOT_OURS, Row, Wanted
from connhub.sync.run_record import RunRecorder

log = logging.getLogger(__name__)

# Anything a target might still read as a link after the mapper's own pass: a word with a dot between letters.
_DOTTED = re.compile(r"\S*[^\W\d_]\.[^\W\d_]{2,}\S*")
T = TypeVar("T")
Done = dict[str, tuple[int, str, dict[str, Any], str | None]]  # product id → (item id, fingerprint, fields, image)


class StopRun(Exception):
    """The run cannot go on; `reason` is Russian and shown on the page and in the script's output."""

    def __init__(self, reason: str, code: str = "stopped") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code  # off | not_ready | stopped


def _noop(_: str) -> None:
    return None


class Publisher:
    """One run's writes to one community of one target."""

    def __init__(self, target: GoodsTarget, sessions: sessionmaker[Session], recorder: RunRecorder, *,
                 user_id: int, store_id: str, group_id: int, phase: Callable[[str], None],
                 say: Callable[[str], None], checkpoint: Callable[[str], None] = _noop) -> None:
        self.target = target
        self.sessions = sessions
        self.recorder = recorder
        self.user_id, self.store_id, self.group_id = user_id, store_id, group_id
        self.phase = phase
        self.say = say
        self.checkpoint = checkpoint
        self._photos_off_said = False

    # --- calls -----------------------------------------------------------------------------------

    def whole(self, call: Callable[[], T]) -> T:
        """A call whose failure concerns the whole run (listing, a whole batch)."""
        try:
            return call()
        except GoodsError as error:
            service = self.target.service
            if error.kind in (GoodsErrorKind.TRANSIENT, GoodsErrorKind.RATE_LIMITED):
                raise StopRun(f"{service} не отвечает: {error.reason}") from None
            if error.stops_run:
                raise StopRun(error.reason) from None
            raise StopRun(f"{service} отказал: {error.reason}") from None
        finally:
            self.recorder.requests = self.target.requests

    def _progress(self, n: int) -> None:
        self.recorder.done += n
        self.recorder.requests = self.target.requests
        self.recorder.save()

    def _batches(self, entries: Sequence[T]) -> list[Sequence[T]]:
        size = max(1, self.target.batch_size)
        return [entries[start:start + size] for start in range(0, len(entries), size)]

    def _complete(self, done: Done) -> None:
        mapping_table.complete(self.sessions, self.user_id, self.store_id, self.group_id, done)

    # --- photos ----------------------------------------------------------------------------------

    def photos(self, wanted: Sequence[Wanted], *, fresh: bool = False) -> None:
        """Each wanted product's photo id: the one uploaded before for the same image, or a new upload."""
        need = [w for w in wanted if w.image is not None and w.item.image is not None]
        if not need:
            return
        self.phase(texts.PHASE_PHOTOS)
        with self.sessions() as session:
            known = {} if fresh else mapping_table.photo_ids(session, self.group_id, [w.item.image or "" for w in need])
        uploads: dict[str, Wanted] = {}
        for w in need:
            key = w.item.image or ""
            if key in known:
                w.photo_id = known[key]
            else:
                uploads.setdefault(key, w)
        saved: dict[str, int] = {}
        sent = 0
        for chunk in self._batches(list(uploads.items())):
            self.recorder.progress(texts.PHASE_PHOTOS, sent, len(uploads))  # on every batch, with the time left
            sent += len(chunk)
            if self._photos_off_said:  # the target stopped uploading: no image is even read
                for _, w in chunk:
                    w.item = dataclasses.replace(w.item, image=None, fingerprint="")
                continue
            photos = [Photo(partial(_padded, w)) for _, w in chunk]
            results = self.whole(partial(self.target.upload_photos, self.group_id, photos))
            for (key, _), result in zip(chunk, results, strict=True):
                if isinstance(result, GoodsError) and result.kind is GoodsErrorKind.PHOTOS_OFF:
                    self._photos_off(uploads[key], result.reason)
                elif isinstance(result, GoodsError):
                    if result.stops_run:
                        raise StopRun(result.reason)
                    self._photo_failed(uploads[key], result.reason)
                else:
                    saved[key] = result
            mapping_table.remember_photos(self.sessions, self.group_id, saved)
        for w in need:
            if w.photo_id is None and (w.item.image or "") in saved:
                w.photo_id = saved[w.item.image or ""]

    def _photos_off(self, w: Wanted, reason: str) -> None:
        """The target uploads no more photos this run: the item goes up without one; the reason is said once."""
        if not self._photos_off_said:
            self.say(reason)
            self._photos_off_said = True
        w.item = dataclasses.replace(w.item, image=None, fingerprint="")

    def _photo_failed(self, w: Wanted, reason: str) -> None:
        """A photo that cannot be had: the item goes up without it (and is retried next run)."""
        self.say(f"Фото «{w.title}» не загружено: {reason}")
        w.item = dataclasses.replace(w.item, image=None, fingerprint="")

    # --- edits, hides, deletes -------------------------------------------------------------------

    def edits(self, edits: Sequence[tuple[Row, Wanted]]) -> None:
        if not edits:
            return
        self.phase(f"Изменение товаров: {len(edits)}")
        recreate: list[Wanted] = []
        for chunk in self._batches(edits):
            drafts = [(row.item_id or 0, Draft(w.item.params(), w.photo_id)) for row, w in chunk]
            results = self.whole(partial(self.target.edit, self.group_id, drafts))
            done: Done = {}
            stop: GoodsError | None = None
            for (row, w), error in zip(chunk, results, strict=True):
                item_id = row.item_id or 0
                if error is None or error.kind is GoodsErrorKind.ALREADY:
                    done[w.product_id] = (item_id, w.item.fingerprint, w.item.params(), w.item.image)
                elif error.stops_run:
                    stop = stop or error
                elif error.kind is GoodsErrorKind.ITEM_GONE:
                    mapping_table.forget(self.sessions, [row.id])
                    recreate.append(w)
                elif (fixed := self._send_fixed(error, w, partial(self._edit_one, item_id))) is not None:
                    done[w.product_id] = (item_id, w.item.fingerprint, fixed, w.item.image)
                else:
                    self.recorder.fail(w.product_id, w.title, error.shown())
            self._complete(done)
            self.recorder.count("changed", len(done))
            self._progress(len(chunk))
            if stop is not None:
                raise StopRun(stop.reason)
        if recreate:
            self.adds(recreate, counted=False)

    def removals(self, hides: Sequence[Row], deletes: Sequence[Row]) -> None:
        if hides:
            self.phase(f"Скрытие товаров: {len(hides)}")
        for chunk in self._batches(hides):
            items = [(row.item_id or 0, _without_photo(row.fields)) for row in chunk]
            results = self.whole(partial(self.target.hide, self.group_id, items))
            hidden, gone = self._sorted_out(chunk, results)
            mapping_table.set_state(self.sessions, hidden, SyncItemState.HIDDEN, fingerprint="")
            mapping_table.forget(self.sessions, gone)  # deleted by hand: nothing left to hide
            self.recorder.count("hidden", len(hidden) + len(gone))
            self._progress(len(chunk))
        if deletes:
            self.phase(f"Удаление товаров: {len(deletes)}")
        for chunk in self._batches(deletes):
            results = self.whole(partial(self.target.delete, self.group_id, [row.item_id or 0 for row in chunk]))
            deleted, gone = self._sorted_out(chunk, results)
            mapping_table.forget(self.sessions, deleted + gone)
            self.recorder.count("deleted", len(deleted) + len(gone))
            self._progress(len(chunk))

    def _sorted_out(self, chunk: Sequence[Row], results: Sequence[GoodsError | None]) -> tuple[list[int], list[int]]:
        """(row ids done, row ids whose item is gone); a stopping error stops after the others are recorded."""
        done: list[int] = []
        gone: list[int] = []
        for row, error in zip(chunk, results, strict=True):
            if error is None or error.kind is GoodsErrorKind.ALREADY:
                done.append(row.id)
            elif error.kind is GoodsErrorKind.ITEM_GONE:
                gone.append(row.id)
            elif error.stops_run:
                raise StopRun(error.reason)
            else:
                self.recorder.fail(row.product_id, row.title, error.shown())
        return done, gone

    # --- adds ------------------------------------------------------------------------------------

    def adds(self, adds: Sequence[Wanted], *, counted: bool = True,
             taken: dict[str, tuple[int, ...]] | None = None) -> None:
        """New items; `taken` gives, per product, the items already carrying its sku (never ours)."""
        if not adds:
            return
        self.phase(f"Добавление товаров: {len(adds)}")
        for chunk in self._batches(adds):
            mapping_table.mark_pending(self.sessions, self.user_id, self.store_id, self.group_id,
                                       {w.product_id: {NOT_OURS: list((taken or {}).get(w.product_id, ()))}
                                        for w in chunk})
            self.checkpoint("before_add")
            results = self.whole(partial(self.target.add, self.group_id,
                                         [Draft(w.item.params(), w.photo_id) for w in chunk]))
            self.checkpoint("after_add")
            done: Done = {}
            stop: GoodsError | None = None
            for w, result in zip(chunk, results, strict=True):
                if not isinstance(result, GoodsError):
                    done[w.product_id] = (result, w.item.fingerprint, w.item.params(), w.item.image)
                    continue
                if result.stops_run:
                    stop = stop or result
                    continue
                added: list[int] = []
                fixed = self._send_fixed(result, w, partial(self._add_one, added))
                if fixed is not None and added:
                    done[w.product_id] = (added[0], w.item.fingerprint, fixed, w.item.image)
                else:
                    self.recorder.fail(w.product_id, w.title, result.shown())
            self._complete(done)
            self.recorder.count("added" if counted else "changed", len(done))
            self._progress(len(chunk))
            if stop is not None:
                raise StopRun(stop.reason)

    def _add_one(self, added: list[int], draft: Draft) -> GoodsError | None:
        try:
            [result] = self.target.add(self.group_id, [draft])
        except GoodsError as error:
            return error
        if isinstance(result, GoodsError):
            return result
        added.append(result)
        return None

    def _edit_one(self, item_id: int, draft: Draft) -> GoodsError | None:
        try:
            [result] = self.target.edit(self.group_id, [(item_id, draft)])
        except GoodsError as error:
            return error
        return result

    # --- data fixes ------------------------------------------------------------------------------

    def _send_fixed(self, error: GoodsError, w: Wanted,
                    send: Callable[[Draft], GoodsError | None]) -> dict[str, Any] | None:
        """A data error: fix the fields (or the photo) once, send this item alone; the fields sent, or None."""
        if not error.kind.needs_fix:
            return None
        params = w.item.params()
        if error.kind is GoodsErrorKind.FIX_PHOTO and w.image is not None and w.item.image is not None:
            mapping_table.forget_photo(self.sessions, self.group_id, w.item.image)
            w.photo_id = None
            self.photos([w], fresh=True)
        else:
            params = fix_fields(params, error.kind)
        again = send(Draft(params, w.photo_id))
        if again is None:
            return params
        if again.stops_run:
            raise StopRun(again.reason)
        log.info("product %s still refused after a fix: %s", w.product_id, again.reason)
        return None


def _padded(w: Wanted) -> PhotoFile:
    """The product's image, read and padded to the target's minimum at the moment it is uploaded."""
    try:
        padded = pad_photo(w.image.load() if w.image is not None else b"")
    except (PhotoError, ProviderError) as error:
        raise GoodsError(error.reason, GoodsErrorKind.FAILED) from None
    return PhotoFile(padded.filename, padded.data)


def fix_fields(params: dict[str, Any], kind: GoodsErrorKind) -> dict[str, Any]:
    """The fields changed the way a data error asks: links out, a shorter name, a longer text."""
    fixed = dict(params)
    name = clean_line(str(fixed.get("name") or ""))
    if kind is GoodsErrorKind.FIX_NAME or len(name) > NAME_MAX:
        name = cut_to(name, NAME_MAX * 3 // 4)
    if len(name) < 4:
        name = f"Товар {name}".strip()
    fixed["name"] = name
    description = " ".join(_DOTTED.sub("", remove_links(str(fixed.get("description") or ""))).split())
    if len(description) < DESCRIPTION_MIN:
        description = f"{name}. Цена: {format_price(_decimal(fixed.get('price')))}"
    fixed["description"] = description
    return fixed


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def _without_photo(fields: Any) -> dict[str, Any]:
    return {key: value for key, value in dict(fields).items() if key not in ("main_photo_id", "photo_ids", "deleted")}
