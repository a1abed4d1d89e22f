"""The shapes VK's goods methods answer with, parsed defensively (docs/vk-goods.md): communities,
categories, albums, items. Nothing here calls VK; `goods.py` and `goods_shop.py` do."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from connhub.providers.vk.api import VkApiError
from connhub.providers.vk.goods_errors import ErrorKind


def parse_communities(answer: Any, method: str) -> list[Community] | VkApiError:
    """The communities of one `groups.get` page (extended), or the error its answer amounts to."""
    items = answer.get("items") if isinstance(answer, dict) else None
    if not isinstance(items, list):
        return bad_answer(method)
    parsed = (Community.parse(raw) for raw in items if isinstance(raw, dict))
    return [community for community in parsed if community is not None]


def endless(reason: str) -> VkApiError:
    """A listing that does not end as a real one does: the run stops (what is on VK is unknown)."""
    return VkApiError(f"{reason} — синхронизация остановлена, чтобы не создать дубли товаров",
                      kind=ErrorKind.USER_ACTION, method="market.get", error_code=None)


def bad_answer(method: str) -> VkApiError:
    return VkApiError("ВКонтакте прислал непонятный ответ", kind=ErrorKind.RETRY, method=method, error_code=None)


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


@dataclass(frozen=True)
class Community:
    id: int  # positive
    name: str
    screen_name: str
    admin_level: int  # 1 moderator, 2 editor, 3 administrator
    goods_enabled: bool
    photo_url: str = ""

    @property
    def can_manage_goods(self) -> bool:
        return self.admin_level >= 2

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Community | None:
        group_id = as_int(raw.get("id"))
        if group_id is None or raw.get("deactivated"):
            return None
        market = raw.get("market")
        enabled = isinstance(market, dict) and as_int(market.get("enabled")) == 1
        return cls(
            id=group_id,
            name=str(raw.get("name") or f"club{group_id}"),
            screen_name=str(raw.get("screen_name") or f"club{group_id}"),
            admin_level=as_int(raw.get("admin_level")) or 0,
            goods_enabled=enabled,
            photo_url=str(raw.get("photo_100") or raw.get("photo_50") or ""),
        )

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "screen_name": self.screen_name, "admin_level": self.admin_level,
                "goods_enabled": self.goods_enabled, "photo_url": self.photo_url}


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    children: tuple[Category, ...] = ()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Category | None:
        category_id = as_int(raw.get("id"))
        if category_id is None:
            return None
        raw_children = raw.get("children")
        children = raw_children if isinstance(raw_children, list) else []
        parsed = tuple(child for child in (cls.parse(c) for c in children if isinstance(c, dict)) if child)
        return cls(category_id, str(raw.get("name") or category_id), parsed)


def leaves(tree: Iterable[Category], path: tuple[str, ...] = ()) -> Iterator[tuple[Category, tuple[str, ...]]]:
    """Every leaf category with the names leading to it (what a sync picks: a leaf)."""
    for node in tree:
        here = (*path, node.name)
        if node.children:
            yield from leaves(node.children, here)
        else:
            yield node, here


@dataclass(frozen=True)
class Album:
    id: int
    title: str
    count: int
    is_main: bool = False
    is_hidden: bool = False


@dataclass(frozen=True)
class MarketItem:
    id: int
    owner_id: int
    title: str
    description: str
    price_kopecks: int | None
    sku: str
    availability: int  # 0 available, 1 removed (hidden), 2 unavailable
    stock_amount: int | None = None
    category_id: int | None = None
    photo_ids: tuple[int, ...] = ()
    grouping: int | None = None  # `variants_grouping_id`: the item group it is in

    @property
    def hidden(self) -> bool:
        return self.availability != 0

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> MarketItem | None:
        item_id, owner_id = as_int(raw.get("id")), as_int(raw.get("owner_id"))
        if item_id is None or owner_id is None:
            return None
        price = raw.get("price")
        amount = as_int(price.get("amount")) if isinstance(price, dict) else None
        category = raw.get("category")
        raw_photos = raw.get("photos")
        photos = raw_photos if isinstance(raw_photos, list) else []
        return cls(
            id=item_id,
            owner_id=owner_id,
            title=str(raw.get("title") or ""),
            description=str(raw.get("description") or ""),
            price_kopecks=amount,
            sku=str(raw.get("sku") or ""),
            availability=as_int(raw.get("availability")) or 0,
            stock_amount=as_int(raw.get("stock_amount")),
            category_id=as_int(category.get("id")) if isinstance(category, dict) else None,
            photo_ids=tuple(pid for pid in (as_int(p.get("id")) for p in photos if isinstance(p, dict)) if pid),
            grouping=as_int(raw.get("variants_grouping_id")) or None,
        )
