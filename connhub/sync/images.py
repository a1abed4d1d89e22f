"""Evotor product images for the sync, fetched as rarely as the catalog allows (docs/sync.md, «Photos»).

Evotor lists a product's image with one request per product (reference E4), and the file is a
second one. So per (connection, store, product) the sync keeps what it last saw
(`models.SyncImage`): the image's id and `updated_at` (its *version*), the sha256 of the file (the
key under which `SyncPhoto` remembers the uploaded VK photo) and the file's URL.

- The image list is asked for only when the product is new here, its catalog `updated_at` moved
  since the last look, or the last look is a day old.
- The file is downloaded only when the version changed (or a community has no photo of it yet).
- **Streamed, not held.** A downloaded file is kept until the photo phase uses it, in a temporary
  file on disk (at most `SPOOL_MAX_BYTES` in all; past that it is downloaded again when used), and
  is deleted as soon as it is read: memory holds one image at a time, whatever the run's size.
- A refusal that concerns every product (403: the right `product.image:read` is missing; 401,
  402) is reported once and ends image look-ups for this run; the products go up without a new
  photo (those seen before keep theirs). Any other failure concerns that one product: it is
  reported, keeps what was seen last time, and is looked at again next run.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from connhub.catalog import queries
from connhub.db import write_locked
from connhub.models import CatalogProduct, SyncImage, utcnow
from connhub.ports.errors import ProviderError
from connhub.ports.images import ListedImage, ProductImages
from connhub.sync.photos import source_hash
from connhub.text import counted

log = logging.getLogger(__name__)

LOOK_AGAIN_AFTER = timedelta(days=1)
MAX_RATE_WAIT_SECONDS = 30.0
REPORTED_FAILURES = 10  # per-product lines before the rest are only counted
SPOOL_MAX_BYTES = 512 << 20  # downloaded files waiting on disk for the photo phase, in all


@dataclass
class ImageRef:
    """A product's image: `key` is the sha256 of the file; `load()` gives the file (downloading it
    only when it is not at hand)."""

    key: str
    load: Callable[[], bytes]

    @classmethod
    def of(cls, data: bytes) -> ImageRef:
        return cls(source_hash(data), lambda: data)


class Spool:
    """Files waiting for the photo phase, on disk in a private temporary directory, by key.

    At most `max_bytes` wait at once (`put` refuses more); `take` reads a file and deletes it. The
    directory goes when the spool is closed or garbage-collected (or the process ends)."""

    def __init__(self, max_bytes: int | None = None) -> None:
        self.max_bytes = SPOOL_MAX_BYTES if max_bytes is None else max_bytes
        self.held = 0
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._sizes: dict[str, int] = {}

    def put(self, key: str, data: bytes) -> bool:
        if key in self._sizes:
            return True
        if self.held + len(data) > self.max_bytes:
            return False
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="connhub-images-")
        with open(self._path(key), "wb") as file:
            file.write(data)
        self._sizes[key] = len(data)
        self.held += len(data)
        return True

    def take(self, key: str) -> bytes | None:
        size = self._sizes.pop(key, None)
        if size is None:
            return None
        path = self._path(key)
        try:
            with open(path, "rb") as file:
                return file.read()
        except OSError:
            return None
        finally:
            self.held -= size
            try:
                os.unlink(path)
            except OSError:
                pass

    def close(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
        self._sizes.clear()
        self.held = 0

    def _path(self, key: str) -> str:
        assert self._dir is not None
        return os.path.join(self._dir.name, key)  # a sha256 in hex: a safe file name


@dataclass
class _Seen:
    product_updated_at: datetime | None
    version: str | None
    image_key: str | None
    url: str | None
    checked_at: datetime


class CachedImages:
    """An engine `ImageSource`: (store id, product id) → ImageRef or None. `save()` writes what
    this run saw, in one transaction."""

    def __init__(self, sessions: sessionmaker[Session], user_id: int, connection_id: int, store_id: str,
                 api: ProductImages, *, say: Callable[[str], None] = lambda line: None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._sessions = sessions
        self._connection_id = connection_id
        self._store_id = store_id
        self._api = api
        self._say = say
        self._sleep = sleep
        self._now = utcnow()
        self._off: str | None = None
        self._changed: dict[str, _Seen] = {}
        self.spool = Spool()
        self.failures = 0
        self.lists = 0
        self.downloads = 0
        with sessions() as session:
            self._seen = {row.product_id: _Seen(row.product_updated_at, row.version, row.image_key, row.url,
                                                row.checked_at)
                          for row in session.scalars(select(SyncImage).where(
                              SyncImage.connection_id == connection_id, SyncImage.store_id == store_id))}
            self._catalog = _catalog_times(session, user_id, connection_id, store_id)

    def __call__(self, store_id: str, product_id: str) -> ImageRef | None:
        seen = self._changed.get(product_id) or self._seen.get(product_id)
        updated = self._catalog.get(product_id)
        if seen is not None and seen.product_updated_at == updated and self._now - seen.checked_at < LOOK_AGAIN_AFTER:
            return self._ref(product_id, seen)
        if self._off is not None:
            return self._ref(product_id, seen)
        try:
            listed = self._list(product_id)
        except ProviderError as error:
            self._failed(product_id, error)
            return self._ref(product_id, seen)
        if listed is None:
            self._changed[product_id] = _Seen(updated, None, None, None, self._now)
            return None
        if seen is not None and seen.version == listed.version and seen.image_key:
            self._changed[product_id] = _Seen(updated, seen.version, seen.image_key, listed.url, self._now)
            return self._ref(product_id, self._changed[product_id])
        try:
            data = self._download(listed.url)
        except ProviderError as error:
            self._failed(product_id, error)
            return self._ref(product_id, seen)  # the photo published before stays
        key = source_hash(data)
        self.spool.put(key, data)
        del data  # on disk now (or downloaded again when used): never held for the whole run
        self._changed[product_id] = _Seen(updated, listed.version, key, listed.url, self._now)
        return self._ref(product_id, self._changed[product_id])

    def figures(self) -> dict[str, int]:
        """This run's look-ups (one a product asked about; retries after a 429 not counted) and downloads."""
        return {"image_lookups": self.lists, "image_downloads": self.downloads}

    def figures_line(self) -> str:
        return (f"Фото товаров: {counted(self.lists, 'запрос', 'запроса', 'запросов')} списка изображений, "
                f"{counted(self.downloads, 'файл скачан', 'файла скачано', 'файлов скачано')}")

    def save(self) -> None:
        if self.failures > REPORTED_FAILURES:
            self._say(f"Фото товаров: не удалось получить ещё {self.failures - REPORTED_FAILURES}")
        if not self._changed:
            return
        ids = list(self._changed)
        with write_locked(self._sessions) as session:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                session.execute(delete(SyncImage).where(
                    SyncImage.connection_id == self._connection_id, SyncImage.store_id == self._store_id,
                    SyncImage.product_id.in_(chunk)))
            session.add_all(SyncImage(connection_id=self._connection_id, store_id=self._store_id, product_id=pid,
                                      product_updated_at=seen.product_updated_at, version=seen.version,
                                      image_key=seen.image_key, url=seen.url, checked_at=seen.checked_at)
                            for pid, seen in self._changed.items())
            session.commit()
        self._seen.update(self._changed)
        self._changed = {}

    # --- inside ---

    def _ref(self, product_id: str, seen: _Seen | None) -> ImageRef | None:
        if seen is None or seen.image_key is None:
            return None
        key, url = seen.image_key, seen.url

        def load() -> bytes:
            spooled = self.spool.take(key)
            if spooled is not None:
                return spooled
            if not url:
                raise ProviderError("Адрес изображения неизвестен", permanent=False, code="no_image_url")
            data = self._download(url)
            if source_hash(data) != key:  # changed behind the same version: look again next run
                self._forget(product_id)
            return data

        return ImageRef(key, load)

    def _forget(self, product_id: str) -> None:
        with write_locked(self._sessions) as session:
            session.execute(delete(SyncImage).where(
                SyncImage.connection_id == self._connection_id, SyncImage.store_id == self._store_id,
                SyncImage.product_id == product_id))
            session.commit()

    def _list(self, product_id: str) -> ListedImage | None:
        self.lists += 1
        try:
            return self._api.image(self._store_id, product_id)
        except ProviderError as error:
            if error.code != "http_429":
                raise
            self._sleep(min(error.retry_after or 1.0, MAX_RATE_WAIT_SECONDS))
            return self._api.image(self._store_id, product_id)

    def _download(self, url: str) -> bytes:
        self.downloads += 1
        return self._api.download(url)

    def _failed(self, product_id: str, error: ProviderError) -> None:
        if error.permanent:  # about the token or its rights: every product would get the same answer
            self._off = error.reason
            self._say(f"Фото товаров недоступны: {error.reason}")
            return
        self.failures += 1
        log.info("image of product %s: %s", product_id, error.code)
        if self.failures <= REPORTED_FAILURES:
            self._say(f"Фото товара {product_id} не получено: {error.reason}")


def _catalog_times(session: Session, user_id: int, connection_id: int, store_id: str) -> dict[str, datetime | None]:
    snapshot = queries.current_snapshot(session, user_id, connection_id, store_id)
    if snapshot is None:
        return {}
    rows: Iterable[tuple[str, datetime | None]] = session.execute(
        select(CatalogProduct.id, CatalogProduct.updated_at).where(CatalogProduct.snapshot_id == snapshot.id)).all()
    return {product_id: updated for product_id, updated in rows}
