"""The toy provider's goods: an in-memory shop offered as a `GoodsTarget` (`connhub.ports.goods`).

Proof that the sync's target is a plug-in: `ToyProvider.goods_target` (the `GoodsProvider`
capability) hands this out, and a run publishes here once the toy provider is the first one
registered offering goods. Items carry the sku the sync writes; `fail_names` makes the shop refuse
a name, the way a real target refuses data.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connhub.ports.goods import (
    Category,
    Community,
    Draft,
    GoodsError,
    GoodsErrorKind,
    ListedAlbum,
    ListedItem,
    ListedProperty,
    Order,
    OrderLine,
    Photo,
)

COMMUNITY = Community(7001, "Игрушечный магазин", True)
CATEGORY = Category(70, "Игрушки", (Category(71, "Кубики"),))


@dataclass
class ToyItem:
    id: int
    community_id: int
    fields: dict[str, Any]
    photo_id: int | None = None
    hidden: bool = False
    edits: int = 0


@dataclass
class ToyShop:
    """Every community's items, shared by every target of the process (tests reset it)."""

    items: dict[int, ToyItem] = field(default_factory=dict)
    photos: dict[int, int] = field(default_factory=dict)  # photo id → size in bytes
    fail_names: set[str] = field(default_factory=set)
    next_id: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.items.clear()
            self.photos.clear()
            self.fail_names.clear()
            self.next_id = 1

    def in_community(self, community_id: int) -> list[ToyItem]:
        with self.lock:
            return [item for item in self.items.values() if item.community_id == community_id]


SHOP = ToyShop()


class ToyGoods:
    """One token's view of the toy shop (implements `GoodsTarget`)."""

    service = "Игрушка"
    batch_size = 10
    write_deadline = 0.0  # the toy shop answers in the caller's thread: nothing is ever in flight

    def __init__(self, shop: ToyShop = SHOP) -> None:
        self.shop = shop
        self._requests = 0

    @property
    def requests(self) -> int:
        return self._requests

    def communities(self) -> list[Community]:
        self._requests += 1
        return [COMMUNITY]

    def categories(self) -> list[Category]:
        self._requests += 1
        return [CATEGORY]

    def items(self, community_id: int) -> list[ListedItem]:
        self._requests += 1
        return [ListedItem(item.id, str(item.fields.get("sku") or ""), item.hidden)
                for item in self.shop.in_community(community_id)]

    def _refused(self, draft: Draft) -> GoodsError | None:
        if str(draft.fields.get("name")) in self.shop.fail_names:
            return GoodsError("Игрушка не принимает это название", GoodsErrorKind.FAILED, label="name")
        return None

    def add(self, community_id: int, drafts: Sequence[Draft]) -> list[int | GoodsError]:
        self._requests += 1
        out: list[int | GoodsError] = []
        with self.shop.lock:
            for draft in drafts:
                refused = self._refused(draft)
                if refused is not None:
                    out.append(refused)
                    continue
                item = ToyItem(self.shop.next_id, community_id, dict(draft.fields), draft.photo_id)
                self.shop.items[item.id] = item
                self.shop.next_id += 1
                out.append(item.id)
        return out

    def edit(self, community_id: int, edits: Sequence[tuple[int, Draft]]) -> list[GoodsError | None]:
        self._requests += 1
        out: list[GoodsError | None] = []
        with self.shop.lock:
            for item_id, draft in edits:
                item = self.shop.items.get(item_id)
                if item is None or item.community_id != community_id:
                    out.append(GoodsError("Товара больше нет", GoodsErrorKind.ITEM_GONE))
                    continue
                out.append(self._refused(draft))
                if out[-1] is None:
                    item.fields, item.photo_id, item.hidden = dict(draft.fields), draft.photo_id, False
                    item.edits += 1
        return out

    def hide(self, community_id: int, items: Sequence[tuple[int, Mapping[str, Any]]]) -> list[GoodsError | None]:
        self._requests += 1
        out: list[GoodsError | None] = []
        with self.shop.lock:
            for item_id, _ in items:
                item = self.shop.items.get(item_id)
                if item is None:
                    out.append(GoodsError("Товара больше нет", GoodsErrorKind.ITEM_GONE))
                else:
                    item.hidden = True
                    out.append(None)
        return out

    def delete(self, community_id: int, item_ids: Sequence[int]) -> list[GoodsError | None]:
        self._requests += 1
        with self.shop.lock:
            return [None if self.shop.items.pop(item_id, None) is not None
                    else GoodsError("Товара больше нет", GoodsErrorKind.ITEM_GONE) for item_id in item_ids]

    def upload_photos(self, community_id: int, photos: Sequence[Photo]) -> list[int | GoodsError]:
        self._requests += 1
        out: list[int | GoodsError] = []
        with self.shop.lock:
            for photo in photos:
                try:
                    made = photo.open()
                except GoodsError as error:
                    out.append(error)
                    continue
                photo_id = 9000 + len(self.shop.photos)
                self.shop.photos[photo_id] = len(made.data)
                out.append(photo_id)
        return out

    # --- albums: the toy shop has none; it says so the way the port asks (NEEDS_USER) ----------------

    def _no_albums(self) -> GoodsError:
        return GoodsError("В игрушечном магазине нет подборок", GoodsErrorKind.NEEDS_USER)

    def albums(self, community_id: int) -> list[ListedAlbum]:
        raise self._no_albums()

    def add_albums(self, community_id: int, titles: Sequence[str]) -> list[int | GoodsError]:
        raise self._no_albums()

    def rename_albums(self, community_id: int, renames: Sequence[tuple[int, str]]) -> list[GoodsError | None]:
        raise self._no_albums()

    def delete_albums(self, community_id: int, album_ids: Sequence[int]) -> list[GoodsError | None]:
        raise self._no_albums()

    def add_to_albums(self, community_id: int, placements: Sequence[tuple[int, Sequence[int]]],
                      ) -> list[GoodsError | None]:
        raise self._no_albums()

    def remove_from_albums(self, community_id: int, removals: Sequence[tuple[int, int]]) -> list[GoodsError | None]:
        raise self._no_albums()

    # --- variants and orders: the toy shop has neither (variants NOT_OFFERED, orders NEEDS_USER, as a
    # basic VK market answers them) ------------------------------------------------------------------

    def _basic(self) -> GoodsError:
        return GoodsError("В игрушечном магазине нет вариантов и заказов", GoodsErrorKind.NEEDS_USER)

    def _no_variants(self) -> GoodsError:
        return GoodsError("В игрушечном магазине нет вариантов", GoodsErrorKind.NOT_OFFERED)

    def properties(self, community_id: int) -> list[ListedProperty]:
        raise self._no_variants()

    def add_properties(self, community_id: int, titles: Sequence[str]) -> list[int | GoodsError]:
        raise self._no_variants()

    def add_variants(self, community_id: int, variants: Sequence[tuple[int, str]]) -> list[int | GoodsError]:
        raise self._no_variants()

    def group_items(self, community_id: int, groups: Sequence[tuple[Sequence[int], int | None]],
                    ) -> list[int | GoodsError]:
        raise self._no_variants()

    def orders(self, community_id: int, *, offset: int, count: int) -> tuple[int, list[Order]]:
        raise self._basic()

    def order_lines(self, orders: Sequence[Order]) -> list[tuple[OrderLine, ...] | GoodsError]:
        raise self._basic()
