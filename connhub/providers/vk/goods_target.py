"""VK goods as the sync's `GoodsTarget` (`connhub.ports.goods`): the community's items through
`Goods` (batched through `execute`, 25 calls a request, within the token's rate limit) with every
VK error turned into a `GoodsError` of the port's kinds (`goods_errors.goods_kind`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from connhub.ports.goods import (
    Category,
    Community,
    Draft,
    GoodsError,
    GoodsErrorKind,
    ItemLooks,
    ListedAlbum,
    ListedItem,
    ListedProperty,
    Order,
    OrderLine,
    Photo,
)
from connhub.providers.vk import goods as vk_goods
from connhub.providers.vk.api import CallResult, VkApiError
from connhub.providers.vk.goods import Goods
from connhub.providers.vk.goods_albums import VkAlbums, added_album
from connhub.providers.vk.goods_errors import goods_kind
from connhub.providers.vk.goods_orders import VkOrders, order_lines
from connhub.providers.vk.goods_variants import VkVariants, new_id
from connhub.providers.vk.photos_bulk import BulkPhotos, BulkRefused

SERVICE = "ВКонтакте"
NO_EXTENDED_MARKET = 1409
EXTENDED_MARKET_OFF = "в сообществе не включён расширенный магазин"
BATCH = 25  # calls per `execute`
T = TypeVar("T")


def goods_error(error: VkApiError) -> GoodsError:
    """A VK error as the port's error (the VK code becomes the label people read)."""
    label = str(error.error_code) if error.error_code is not None else ""
    return GoodsError(error.reason, goods_kind(error.kind, error.error_code), label=label,
                      retry_after=error.retry_after, permanent=error.permanent)


def variant_error(error: VkApiError) -> GoodsError:
    """A variant call's VK error: 1409 (the basic market) is NOT_OFFERED, the sync's fallback."""
    if error.error_code == NO_EXTENDED_MARKET:
        return GoodsError(EXTENDED_MARKET_OFF, GoodsErrorKind.NOT_OFFERED, label=str(NO_EXTENDED_MARKET))
    return goods_error(error)


def _whole(call: Callable[[], T]) -> T:
    try:
        return call()
    except VkApiError as error:
        raise goods_error(error) from None


def _done(result: CallResult) -> GoodsError | None:
    return goods_error(result.error) if result.error is not None else None


def _added(result: CallResult) -> int | GoodsError:
    if result.error is not None:
        return goods_error(result.error)
    value = result.response.get("market_item_id") if isinstance(result.response, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return GoodsError("ВКонтакте не вернул номер товара", GoodsErrorKind.FAILED)


def _chunks(entries: Sequence[T]) -> list[Sequence[T]]:
    return [entries[start:start + BATCH] for start in range(0, len(entries), BATCH)]


class VkGoodsTarget:
    """One user token's VK goods (implements `connhub.ports.goods.GoodsTarget`)."""

    service = SERVICE
    batch_size = BATCH

    def __init__(self, goods: Goods) -> None:
        self.goods = goods
        self._albums = VkAlbums(goods)
        self._orders = VkOrders(goods.api)
        self._variants = VkVariants(goods.api)
        self._uploads = UploadBreaker()
        self._bulk = BulkPhotos(goods)

    @property
    def requests(self) -> int:
        return self.goods.api.requests

    @property
    def write_deadline(self) -> float:
        # An add is never retried, so one request's deadline bounds it on our side; VK may still be
        # finishing what it received when our socket gives up, hence half a deadline more.
        return self.goods.api.timeout * 1.5

    def communities(self) -> list[Community]:
        return [Community(c.id, c.name, c.goods_enabled) for c in _whole(self.goods.communities)]

    def categories(self) -> list[Category]:
        def convert(node: vk_goods.Category) -> Category:
            return Category(node.id, node.name, tuple(convert(child) for child in node.children))

        return [convert(node) for node in _whole(self.goods.categories)]

    def items(self, community_id: int) -> list[ListedItem]:
        return [ListedItem(item.id, item.sku, item.hidden, ItemLooks(item.title, item.description, item.price_kopecks),
                           item.grouping)
                for item in _whole(lambda: self.goods.items(community_id))]

    def add(self, community_id: int, drafts: Sequence[Draft]) -> list[int | GoodsError]:
        out: list[int | GoodsError] = []
        for chunk in _chunks(drafts):
            results = _whole(partial(self.goods.add_many, community_id, [(d.fields, d.photo_id) for d in chunk]))
            out.extend(_added(result) for result in results)
        return out

    def edit(self, community_id: int, edits: Sequence[tuple[int, Draft]]) -> list[GoodsError | None]:
        out: list[GoodsError | None] = []
        for chunk in _chunks(edits):
            calls = [(item_id, draft.fields, draft.photo_id) for item_id, draft in chunk]
            results = _whole(partial(self.goods.edit_many, community_id, calls))
            out.extend(_done(result) for result in results)
        return out

    def hide(self, community_id: int, items: Sequence[tuple[int, Mapping[str, Any]]]) -> list[GoodsError | None]:
        out: list[GoodsError | None] = []
        for chunk in _chunks(items):
            results = _whole(partial(self.goods.hide_many, community_id, list(chunk)))
            out.extend(_done(result) for result in results)
        return out

    def delete(self, community_id: int, item_ids: Sequence[int]) -> list[GoodsError | None]:
        out: list[GoodsError | None] = []
        for chunk in _chunks(item_ids):
            results = _whole(partial(self.goods.delete_many, community_id, list(chunk)))
            out.extend(_done(result) for result in results)
        return out

    # --- albums (goods_albums.py) -------------------------------------------------------------------

    def albums(self, community_id: int) -> list[ListedAlbum]:
        return _whole(lambda: self._albums.listed(community_id))

    def add_albums(self, community_id: int, titles: Sequence[str]) -> list[int | GoodsError]:
        results = _whole(lambda: self._albums.add(community_id, titles))
        return [goods_error(r) if isinstance(r := added_album(result), VkApiError) else r for result in results]

    def rename_albums(self, community_id: int, renames: Sequence[tuple[int, str]]) -> list[GoodsError | None]:
        return [_done(result) for result in _whole(lambda: self._albums.rename(community_id, renames))]

    def delete_albums(self, community_id: int, album_ids: Sequence[int]) -> list[GoodsError | None]:
        return [_done(result) for result in _whole(lambda: self._albums.delete(community_id, album_ids))]

    def add_to_albums(self, community_id: int, placements: Sequence[tuple[int, Sequence[int]]],
                      ) -> list[GoodsError | None]:
        return [_done(result) for result in _whole(lambda: self._albums.add_to(community_id, placements))]

    def remove_from_albums(self, community_id: int, removals: Sequence[tuple[int, int]]) -> list[GoodsError | None]:
        return [_done(result) for result in _whole(lambda: self._albums.remove_from(community_id, removals))]

    # --- variants (goods_variants.py) -----------------------------------------------------------------

    def properties(self, community_id: int) -> list[ListedProperty]:
        try:
            return self._variants.listed(community_id)
        except VkApiError as error:
            raise variant_error(error) from None

    def add_properties(self, community_id: int, titles: Sequence[str]) -> list[int | GoodsError]:
        return self._new_ids(partial(self._variants.add_properties, community_id), titles, "property_id")

    def add_variants(self, community_id: int, variants: Sequence[tuple[int, str]]) -> list[int | GoodsError]:
        return self._new_ids(partial(self._variants.add_variants, community_id), variants, "variant_id")

    def group_items(self, community_id: int, groups: Sequence[tuple[Sequence[int], int | None]],
                    ) -> list[int | GoodsError]:
        return self._new_ids(partial(self._variants.group, community_id), groups, "item_group_id")

    def _new_ids(self, call: Callable[[Sequence[T]], list[CallResult]], entries: Sequence[T],
                 name: str) -> list[int | GoodsError]:
        out: list[int | GoodsError] = []
        for chunk in _chunks(entries):
            for result in _whole(partial(call, chunk)):
                found = new_id(result, name)
                out.append(variant_error(found) if isinstance(found, VkApiError) else found)
        return out

    # --- orders (goods_orders.py) -------------------------------------------------------------------

    def orders(self, community_id: int, *, offset: int, count: int) -> tuple[int, list[Order]]:
        return _whole(lambda: self._orders.page(community_id, offset=offset, count=count))

    def order_lines(self, orders: Sequence[Order]) -> list[tuple[OrderLine, ...] | GoodsError]:
        out: list[tuple[OrderLine, ...] | GoodsError] = []
        for chunk in _chunks(orders):
            for result in _whole(partial(self._orders.lines, chunk)):
                lines = order_lines(result)
                out.append(goods_error(lines) if isinstance(lines, VkApiError) else lines)
        return out

    def upload_photos(self, community_id: int, photos: Sequence[Photo]) -> list[int | GoodsError]:
        """Upload addresses through `execute`, one upload each, then `market.saveProductPhoto` in a batch."""
        out: list[int | GoodsError] = []
        for chunk in _chunks(photos):
            if self._bulk.off is None and self._uploads.stopped() is None:  # bulk first (photos_bulk.py)
                try:
                    out.extend(self._bulk.upload(community_id, chunk))
                    self._uploads.succeeded()
                    continue
                except BulkRefused:
                    pass
                except VkApiError as error:
                    if error.method != "upload":
                        raise goods_error(error) from None
                    self._uploads.failed(error.reason)  # this batch goes one by one
            out.extend(self._upload_chunk(community_id, chunk))
        return out

    def _upload_chunk(self, community_id: int, photos: Sequence[Photo]) -> list[int | GoodsError]:
        if (off := self._uploads.stopped()) is not None:
            return [GoodsError(off, GoodsErrorKind.PHOTOS_OFF) for _ in photos]
        urls = _whole(lambda: self.goods.upload_urls(community_id, len(photos)))
        results: list[int | GoodsError] = []
        replies: list[tuple[int, str]] = []  # (index in photos, upload reply)
        for index, (photo, url) in enumerate(zip(photos, urls, strict=True)):
            if (off := self._uploads.stopped()) is not None:
                results.append(GoodsError(off, GoodsErrorKind.PHOTOS_OFF))
                continue
            if isinstance(url, VkApiError):
                results.append(goods_error(url))
                continue
            try:
                made = photo.open()
            except GoodsError as error:
                results.append(error)
                continue
            try:
                replies.append((index, self.goods.api.upload(url, filename=made.filename, data=made.data)))
                self._uploads.succeeded()
            except VkApiError as error:
                self._uploads.failed(error.reason)
                results.append(goods_error(error))
                continue
            results.append(GoodsError("Фото не сохранено", GoodsErrorKind.FAILED))  # replaced below
        if replies:
            saved = _whole(lambda: self.goods.save_photos([reply for _, reply in replies]))
            for (index, _), photo_id in zip(replies, saved, strict=True):
                results[index] = goods_error(photo_id) if isinstance(photo_id, VkApiError) else photo_id
        return results


class UploadBreaker:
    """Stops photo uploads for the rest of a run after `limit` consecutive upload failures.

    An upload server that never answers costs a whole request deadline a photo; after `limit` of
    them in a row (a success in between starts the count again) the run uploads no more photos:
    what is left is answered `PHOTOS_OFF` with the reason, which the sync says once."""

    def __init__(self, limit: int = 3) -> None:
        self.limit = limit
        self.consecutive = 0
        self.reason: str | None = None

    def stopped(self) -> str | None:
        """Why uploads are off for the rest of the run, or None while they go on."""
        return self.reason

    def succeeded(self) -> None:
        self.consecutive = 0

    def failed(self, why: str) -> None:
        self.consecutive += 1
        if self.reason is None and self.consecutive >= self.limit:
            self.reason = (f"Загрузка фото остановлена до конца запуска: {self.limit} загрузки подряд "
                           f"не удались ({why}); товары выгружаются без новых фото")
