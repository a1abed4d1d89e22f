"""The goods side's records (items, photos, uploads, the caller) and VK's text and price rules."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from PIL import Image, UnidentifiedImageError

from connhub.providers.vk.sandbox.constants import CATEGORY_BY_ID, CURRENCY, ERROR_MESSAGES, LINK


def vk_length(text: str) -> int:
    """Length as VK stores text: in cp1251, with every other character as an `&#N;` entity."""
    return len(text.encode("cp1251", errors="xmlcharrefreplace"))


def has_link(text: str) -> bool:
    return LINK.search(text) is not None


def format_price(rubles: Decimal) -> str:
    whole, _, fraction = f"{rubles:.2f}".partition(".")
    return f"{int(whole):,}".replace(",", " ") + f",{fraction} ₽"


class ApiFailure(Exception):
    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message or ERROR_MESSAGES.get(code, "Unknown error occurred")


@dataclass(eq=False)
class Item:
    id: int
    group_id: int
    title: str
    description: str
    category_id: int
    price: Decimal
    sku: str = ""
    stock_amount: int | None = None
    main_photo_id: int | None = None
    photo_ids: list[int] = field(default_factory=list)
    hidden: bool = False  # `deleted=1` on add/edit: kept, not shown to buyers
    deleted: bool = False  # market.delete: restorable
    date: int = 0
    edits: int = 0
    variant_ids: list[int] = field(default_factory=list)  # market.add/edit `variant_ids` (variants.py)


@dataclass(eq=False)
class Photo:
    id: int
    group_id: int
    width: int
    height: int
    sha: str


@dataclass(eq=False)
class Upload:
    group_id: int
    account_id: str
    reply: str | None = None  # the exact text the upload server answered
    width: int = 0
    height: int = 0
    sha: str = ""
    saved: bool = False


@dataclass(frozen=True)
class Caller:
    token: str
    account_id: str
    scopes: frozenset[str]


def to_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
        return int(value)
    return None


def item_json(item: Item, *, extended: bool) -> dict[str, Any]:
    """An item as market.get answers it (`extended=1` adds its photos)."""
    category, parent = CATEGORY_BY_ID[item.category_id]
    category_json: dict[str, Any] = {"inner_type": "market_market_category_nested", "id": category["id"],
                                     "name": category["name"]}
    if parent is not None:
        category_json["parent"] = {"inner_type": "market_market_category_nested", "id": parent["id"],
                                   "name": parent["name"]}
    thumb = (f"https://sun9-1.userapi.com/sandbox/{item.main_photo_id}.jpg" if item.main_photo_id
             else "https://vk.com/images/camera_100.png")
    answer: dict[str, Any] = {
        "id": item.id,
        "owner_id": -item.group_id,
        "title": item.title,
        "description": item.description,
        "price": {"amount": str(int(item.price * 100)), "currency": CURRENCY,
                  "text": format_price(item.price)},
        "category": category_json,
        "availability": 1 if item.hidden else 0,
        "date": item.date,
        "thumb_photo": thumb,
        "sku": item.sku,
    }
    if item.stock_amount is not None:
        answer["stock_amount"] = item.stock_amount
    if item.variant_ids:
        answer["variant_ids"] = list(item.variant_ids)
    if extended:
        photo_ids = ([item.main_photo_id] if item.main_photo_id else []) + [
            pid for pid in item.photo_ids if pid != item.main_photo_id]
        answer.update({
            "albums_ids": [],
            "photos": [{"id": pid, "album_id": -53, "owner_id": -item.group_id, "date": item.date,
                        "has_tags": False, "sizes": [{"type": "m", "width": 130, "height": 130,
                                                      "url": f"https://sun9-1.userapi.com/sandbox/{pid}.jpg"}]}
                       for pid in photo_ids],
            "can_comment": 1, "can_repost": 1, "views_count": 0, "can_edit": True, "can_delete": True,
        })
    return answer


def image_size(data: bytes) -> tuple[int, int] | str:
    """An uploaded photo file's (width, height), or VK's upload server's refusal of it."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            fmt = image.format
    except (UnidentifiedImageError, OSError, ValueError):
        return "file is not an image"
    if fmt not in ("PNG", "JPEG", "GIF"):
        return f"format {fmt} is not accepted"
    return width, height
