"""The sandbox's VK goods: communities, categories, albums, items, photo upload, `execute`.

Shapes follow docs/vk-goods.md (API 5.199), and so do the rules VK enforces:
- `market.*` takes a negative `owner_id`; `market.getProductPhotoUploadServer` a positive `group_id`;
- rights come from the token's scopes: without `groups` `groups.get` answers 15, without
  `market` every `market.*` call answers 15, and the photo calls want `photos` as well;
- the user must be an administrator or editor of the community (else 205);
- goods switched off in the community: 1438; past the community's item limit (settable): 1405;
- name 4–100 characters as VK counts them (cp1251; others as `&#N;` entities): 100 / 1421;
  description at least 10 characters (100), without links (1408); a photo under 400×400: 1435;
  `sku` at most 50, `stock_amount` from -1 to 999999, `photo_ids` at most 4, price in rubles with
  at most two decimals (read back as kopecks in `price.amount`);
- an item deleted by hand is gone (1403 on edit, delete and restore); restoring an item that is
  not deleted answers 1518;
- the upload reply must come back to `market.saveProductPhoto` verbatim, byte for byte;
- at most 3 API requests a second per token (error 6); `execute` is one request of up to 25 calls,
  each answered in order, a failed one as `false` with its error in `execute_errors`.
Every request and every call (inside `execute` too) is counted by method for tests and benchmarks.

Long (about 700 lines) because it is one emulated service: the state, the methods with VK's
validation, `execute` and the upload server share one lock and one set of helpers; the small
control client (`GoodsControl`) for tests and benchmarks closes the module.
"""

from __future__ import annotations

import collections
import copy
import email.parser
import email.policy
import hashlib
import io
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

API_RATE_LIMIT = 3  # requests per second per token
EXECUTE_MAX_CALLS = 25
PHOTO_MIN_SIDE = 400
CURRENCY = {"id": 643, "name": "RUB", "title": "Российский рубль"}
FIRST_ITEM_ID = 1000
FIRST_PHOTO_ID = 457239000
FIRST_ALBUM_ID = 1

# Communities each demo VK user belongs to, with their role (admin_level 1 moderator, 2 editor, 3 admin).
COMMUNITIES: dict[int, dict[str, Any]] = {
    218252175: {"name": "Магазин у дома", "screen_name": "club218252175", "type": "group", "goods": True},
    218252176: {"name": "Чайная лавка", "screen_name": "tea_shop_demo", "type": "page", "goods": False},
    218252177: {"name": "Кофейня на Садовой", "screen_name": "coffee_demo", "type": "group", "goods": True},
    218252178: {"name": "Клуб любителей чая", "screen_name": "tea_club_demo", "type": "group", "goods": True},
}
MEMBERSHIPS: dict[str, dict[int, int]] = {
    "743784474": {218252175: 3, 218252176: 3, 218252177: 2, 218252178: 1},
    "100200300": {218252177: 3},
}
CATEGORIES: list[dict[str, Any]] = [
    {"id": 1, "name": "Гардероб", "children": [
        {"id": 100, "name": "Женская одежда"}, {"id": 101, "name": "Мужская одежда"},
        {"id": 102, "name": "Обувь"}]},
    {"id": 5, "name": "Продукты питания", "children": [
        {"id": 500, "name": "Напитки"}, {"id": 501, "name": "Чай и кофе"}, {"id": 502, "name": "Выпечка"},
        {"id": 503, "name": "Сладости"}]},
    {"id": 7, "name": "Дом и сад", "children": [{"id": 700, "name": "Посуда"}, {"id": 701, "name": "Текстиль"}]},
    {"id": 9, "name": "Услуги", "children": [{"id": 900, "name": "Доставка"}]},
]
_CATEGORY_BY_ID = {
    child["id"]: (child, parent) for parent in CATEGORIES for child in parent.get("children", [])
} | {parent["id"]: (parent, None) for parent in CATEGORIES}

ERROR_MESSAGES = {
    3: "Unknown method passed",
    5: "User authorization failed: invalid access_token (4).",
    6: "Too many requests per second",
    8: "Invalid request: v (version) is required",
    12: "Unable to compile code",
    13: "Runtime error occurred during code invocation: too many API calls",
    15: "Access denied: no access to call this method",
    100: "One of the parameters specified was missing or invalid",
    205: "Access denied: you don't have access to this market",
    1403: "Item not found",
    1405: "Too many items",
    1408: "Item has bad links in description",
    1421: "Name too long",
    1435: "Image is too small",
    1438: "Market not enabled",
    1518: "Item is not deleted",
}
PRICE = re.compile(r"\d{1,12}(?:\.\d{1,2})?")
# What VK treats as a link in a description: a scheme, `www.`, or a host name under a known zone.
LINK = re.compile(
    r"(?:https?|ftp)://|\bwww\.|\b[\w-]+(?:\.[\w-]+)*\.(?:ru|su|com|net|org|info|biz|io|me|by|kz|ua|рф)\b",
    re.IGNORECASE,
)


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


class GoodsState:
    """Everything a test can change on the goods side; `reset` restores the seed."""

    def __init__(self, more_methods: dict[str, Any] | None = None) -> None:
        self._lock = threading.RLock()
        self._methods = {**_METHODS, **(more_methods or {})}  # e.g. users.get, kept beside the VK ID side
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.goods_enabled = {gid: bool(seed["goods"]) for gid, seed in COMMUNITIES.items()}
            self.item_limit: dict[int, int | None] = {gid: None for gid in COMMUNITIES}
            self.items: dict[int, Item] = {}
            self.photos: dict[int, Photo] = {}
            self.uploads: dict[str, Upload] = {}
            self.require_photo = False
            self.rate_limit = API_RATE_LIMIT
            self._next_item = FIRST_ITEM_ID
            self._next_photo = FIRST_PHOTO_ID
            self._arrivals: dict[str, collections.deque[float]] = {}
            self.requests: collections.Counter[str] = collections.Counter()  # HTTP requests by method
            self.calls: collections.Counter[str] = collections.Counter()  # method calls, inside execute too
            self.rejected_for_rate = 0

    # --- controls ----------------------------------------------------------------------------------

    def configure(self, *, group_id: int | None = None, goods_enabled: bool | None = None,
                  item_limit: int | None | str = "keep", require_photo: bool | None = None,
                  rate_limit: int | None = None) -> dict[str, Any]:
        with self._lock:
            if group_id is not None:
                if group_id not in COMMUNITIES:
                    raise KeyError(group_id)
                if goods_enabled is not None:
                    self.goods_enabled[group_id] = goods_enabled
                if item_limit != "keep":
                    self.item_limit[group_id] = item_limit  # type: ignore[assignment]
            if require_photo is not None:
                self.require_photo = require_photo
            if rate_limit is not None:
                self.rate_limit = rate_limit
            return self.snapshot_config()

    def snapshot_config(self) -> dict[str, Any]:
        return {
            "require_photo": self.require_photo,
            "rate_limit": self.rate_limit,
            "communities": {str(gid): {"goods_enabled": self.goods_enabled[gid], "item_limit": self.item_limit[gid]}
                            for gid in COMMUNITIES},
        }

    def delete_by_hand(self, group_id: int, item_id: int) -> bool:
        """Remove an item for good, as a person deleting it in VK's interface would."""
        with self._lock:
            item = self.items.get(item_id)
            if item is None or item.group_id != group_id:
                return False
            del self.items[item_id]
            return True

    def seed_items(self, group_id: int, count: int, sku_prefix: str = "seed-") -> list[int]:
        """Items made by someone else (not through the API), e.g. to page through or to leave alone."""
        with self._lock:
            ids = []
            for n in range(count):
                item = Item(id=self._next_item, group_id=group_id, title=f"Товар {n + 1}",
                            description=f"Товар {n + 1}, добавлен вручную", category_id=500,
                            price=Decimal(100 + n), sku=f"{sku_prefix}{n + 1}", date=int(time.time()))
                self._next_item += 1
                self.items[item.id] = item
                ids.append(item.id)
            return ids

    def list_items(self, group_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [self._item_json(item, extended=True) | {"deleted": item.deleted, "hidden": item.hidden,
                                                          "edits": item.edits}
                    for item in self.items.values() if item.group_id == group_id]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": dict(self.requests), "calls": dict(self.calls),
                    "requests_total": sum(self.requests.values()), "rejected_for_rate": self.rejected_for_rate}

    def reset_stats(self) -> None:
        with self._lock:
            self.requests.clear()
            self.calls.clear()
            self.rejected_for_rate = 0

    # --- the rate limit ----------------------------------------------------------------------------

    def admit(self, token: str, method: str) -> bool:
        """Count one API request of `token`; False (error 6) when it is past the per-second limit."""
        now = time.monotonic()
        with self._lock:
            arrivals = self._arrivals.setdefault(token, collections.deque())
            while arrivals and now - arrivals[0] >= 1.0:
                arrivals.popleft()
            if self.rate_limit and len(arrivals) >= self.rate_limit:
                self.rejected_for_rate += 1
                return False
            arrivals.append(now)
            self.requests[method] += 1
            return True

    # --- methods -----------------------------------------------------------------------------------

    def call(self, caller: Caller, method: str, params: dict[str, str], *, base_url: str) -> Any:
        """Run one API method; its `response`, or ApiFailure."""
        handler = self._methods.get(method)
        if handler is None:
            raise ApiFailure(3)
        with self._lock:
            self.calls[method] += 1
            return handler(self, caller, params, base_url)

    def execute(self, caller: Caller, params: dict[str, str], *, base_url: str) -> dict[str, Any]:
        calls = parse_execute(params.get("code", ""))
        if len(calls) > EXECUTE_MAX_CALLS:
            raise ApiFailure(13)
        responses: list[Any] = []
        errors: list[dict[str, Any]] = []
        for method, inner in calls:
            try:
                responses.append(self.call(caller, method, inner, base_url=base_url))
            except ApiFailure as failure:
                responses.append(False)
                errors.append({"method": method, "error_code": failure.code, "error_msg": failure.message})
        answer: dict[str, Any] = {"response": responses}
        if errors:
            answer["execute_errors"] = errors
        return answer

    # --- uploads -----------------------------------------------------------------------------------

    def receive_upload(self, upload_token: str, data: bytes | None) -> str:
        """The upload server: takes the multipart `file`, answers an opaque JSON text."""
        from PIL import Image, UnidentifiedImageError

        with self._lock:
            upload = self.uploads.get(upload_token)
            if upload is None or upload.reply is not None:
                return json.dumps({"error": "upload token is unknown or used"})
        if not data:
            return json.dumps({"error": "no file in field 'file'"})
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                fmt = image.format
        except (UnidentifiedImageError, OSError, ValueError):
            return json.dumps({"error": "file is not an image"})
        if fmt not in ("PNG", "JPEG", "GIF"):
            return json.dumps({"error": f"format {fmt} is not accepted"})
        sha = hashlib.sha256(data).hexdigest()
        reply = json.dumps({"sha": sha[:16], "server": "1", "photo_key": secrets.token_hex(8),
                            "hash": sha[16:48]}, separators=(",", ":"))
        with self._lock:
            upload.reply, upload.width, upload.height, upload.sha = reply, width, height, sha
        return reply

    # --- helpers (the caller holds the lock) -------------------------------------------------------

    def _group(self, caller: Caller, raw_owner: str | None, *, negative: bool = True) -> int:
        number = _to_int(raw_owner)
        if number is None or (number >= 0 if negative else number <= 0):
            raise ApiFailure(100, "One of the parameters specified was missing or invalid: "
                             f"{'owner_id must be negative' if negative else 'group_id must be positive'}")
        group_id = -number if negative else number
        if group_id not in COMMUNITIES:
            raise ApiFailure(100, "One of the parameters specified was missing or invalid: community not found")
        return group_id

    def _market_group(self, caller: Caller, raw_owner: str | None, *, negative: bool = True,
                      photos: bool = False) -> int:
        if "market" not in caller.scopes or (photos and "photos" not in caller.scopes):
            raise ApiFailure(15)
        group_id = self._group(caller, raw_owner, negative=negative)
        if MEMBERSHIPS.get(caller.account_id, {}).get(group_id, 0) < 2:
            raise ApiFailure(205)
        if not self.goods_enabled[group_id]:
            raise ApiFailure(1438)
        return group_id

    def _item(self, group_id: int, raw_item: str | None, *, allow_deleted: bool = False) -> Item:
        item = self.items.get(_to_int(raw_item) or -1)
        if item is None or item.group_id != group_id or (item.deleted and not allow_deleted):
            raise ApiFailure(1403)
        return item

    def _item_json(self, item: Item, *, extended: bool) -> dict[str, Any]:
        category, parent = _CATEGORY_BY_ID[item.category_id]
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

    def _apply_fields(self, item: Item | None, params: dict[str, str], group_id: int) -> dict[str, Any]:
        """Validate the item fields present in `params` as VK does; the values to store."""
        adding = item is None
        values: dict[str, Any] = {}
        if adding or "name" in params:
            name = params.get("name")
            if name is None or vk_length(name.strip()) < 4:
                raise ApiFailure(100, "One of the parameters specified was missing or invalid: name should be "
                                 "at least 4 characters")
            if vk_length(name) > 100:
                raise ApiFailure(1421)
            values["title"] = name
        if adding or "description" in params:
            description = params.get("description")
            if description is None or len(description.strip()) < 10:
                raise ApiFailure(100, "One of the parameters specified was missing or invalid: description "
                                 "should be at least 10 characters")
            if has_link(description):
                raise ApiFailure(1408)
            values["description"] = description
        if adding or "category_id" in params:
            category_id = _to_int(params.get("category_id"))
            if category_id is None or category_id not in _CATEGORY_BY_ID:
                raise ApiFailure(100, "One of the parameters specified was missing or invalid: category_id")
            values["category_id"] = category_id
        if "price" in params:
            if not PRICE.fullmatch(params["price"]):
                raise ApiFailure(100, "One of the parameters specified was missing or invalid: price")
            values["price"] = Decimal(params["price"]).quantize(Decimal("0.01"))
        elif adding:
            values["price"] = Decimal("0.00")
        if "sku" in params:
            if len(params["sku"]) > 50:
                raise ApiFailure(100, "One of the parameters specified was missing or invalid: sku is too long")
            values["sku"] = params["sku"]
        if "stock_amount" in params:
            stock = _to_int(params["stock_amount"])
            if stock is None or not -1 <= stock <= 999_999:
                raise ApiFailure(100, "One of the parameters specified was missing or invalid: stock_amount")
            values["stock_amount"] = stock
        if "deleted" in params:
            values["hidden"] = params["deleted"] == "1"
        if "main_photo_id" in params:
            values["main_photo_id"] = self._photo(params["main_photo_id"], group_id)
        elif adding and self.require_photo:
            raise ApiFailure(100, "One of the parameters specified was missing or invalid: main_photo_id is "
                             "required")
        if "photo_ids" in params:
            ids = [part for part in params["photo_ids"].split(",") if part.strip()]
            if len(ids) > 4:
                raise ApiFailure(100, "One of the parameters specified was missing or invalid: photo_ids")
            values["photo_ids"] = [self._photo(part, group_id) for part in ids]
        return values

    def _photo(self, raw: str, group_id: int) -> int:
        photo = self.photos.get(_to_int(raw) or -1)
        if photo is None or photo.group_id != group_id:
            raise ApiFailure(100, "One of the parameters specified was missing or invalid: photo not found")
        if photo.width < PHOTO_MIN_SIDE or photo.height < PHOTO_MIN_SIDE:
            raise ApiFailure(1435)
        return photo.id

    def _active_count(self, group_id: int) -> int:
        return sum(1 for item in self.items.values() if item.group_id == group_id and not item.deleted)


# ----------------------------------------------------------------------------------------------------
# the methods

def _groups_get(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    if "groups" not in caller.scopes:
        raise ApiFailure(15)
    filters = {part.strip() for part in params.get("filter", "").split(",") if part.strip()}
    minimum = 3 if filters == {"admin"} else 2 if "editor" in filters else 1 if "moder" in filters else 0
    roles = MEMBERSHIPS.get(caller.account_id, {})
    chosen = [gid for gid, level in roles.items() if level >= minimum]
    offset = _to_int(params.get("offset")) or 0
    count = min(_to_int(params.get("count")) or 1000, 1000)
    page = chosen[offset:offset + count]
    if params.get("extended") != "1":
        return {"count": len(chosen), "items": page}
    fields = {part.strip() for part in params.get("fields", "").split(",")}
    items = []
    for gid in page:
        seed = COMMUNITIES[gid]
        level = roles[gid]
        group: dict[str, Any] = {
            "id": gid, "name": seed["name"], "screen_name": seed["screen_name"], "is_closed": 0,
            "type": seed["type"], "is_admin": 1 if level >= 1 else 0, "admin_level": level, "is_member": 1,
            "photo_50": "https://vk.com/images/community_50.png",
            "photo_100": "https://vk.com/images/community_100.png",
            "photo_200": "https://vk.com/images/community_200.png",
        }
        if "market" in fields:
            if state.goods_enabled[gid]:
                group["market"] = {"enabled": 1, "type": "basic", "contact_id": 0, "currency": CURRENCY,
                                   "currency_text": CURRENCY["title"], "main_album_id": FIRST_ALBUM_ID,
                                   "price_min": "0", "price_max": "0"}
            else:
                group["market"] = {"enabled": 0}
        items.append(group)
    return {"count": len(chosen), "items": items}


def _get_categories(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    if "market" not in caller.scopes:
        raise ApiFailure(15)
    return {"items": copy.deepcopy(CATEGORIES)}


def _get_albums(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    count = _to_int(params.get("count")) or 50
    if not 0 <= count <= 100:
        raise ApiFailure(100, "One of the parameters specified was missing or invalid: count")
    offset = _to_int(params.get("offset")) or 0
    albums = [{"id": FIRST_ALBUM_ID, "owner_id": -group_id, "title": "Все товары",
               "count": state._active_count(group_id), "is_main": True, "is_hidden": False,
               "updated_time": int(time.time()), "type": 0}]
    return {"count": len(albums), "items": albums[offset:offset + count]}


def _market_get(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    count = _to_int(params.get("count"))
    count = 100 if count is None else count
    if not 0 <= count <= 200:
        raise ApiFailure(100, "One of the parameters specified was missing or invalid: count should be at most 200")
    offset = _to_int(params.get("offset")) or 0
    with_disabled = params.get("with_disabled") == "1"
    listed = sorted(
        (item for item in state.items.values()
         if item.group_id == group_id and not item.deleted and (with_disabled or not item.hidden)),
        key=lambda item: -item.id,
    )
    extended = params.get("extended") == "1"
    return {"count": len(listed), "items": [state._item_json(item, extended=extended)
                                            for item in listed[offset:offset + count]]}


def _market_add(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    values = state._apply_fields(None, params, group_id)
    limit = state.item_limit[group_id]
    if limit is not None and state._active_count(group_id) >= limit:
        raise ApiFailure(1405)
    item = Item(id=state._next_item, group_id=group_id, date=int(time.time()), **values)
    state._next_item += 1
    state.items[item.id] = item
    return {"market_item_id": item.id}


def _market_edit(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    item = state._item(group_id, params.get("item_id"))
    values = state._apply_fields(item, params, group_id)
    for key, value in values.items():
        setattr(item, key, value)
    item.edits += 1
    return 1


def _market_delete(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    state._item(group_id, params.get("item_id"), allow_deleted=True).deleted = True
    return 1


def _market_restore(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    item = state._item(group_id, params.get("item_id"), allow_deleted=True)
    if not item.deleted:
        raise ApiFailure(1518)
    item.deleted = False
    return 1


def _upload_server(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("group_id"), negative=False, photos=True)
    upload_token = secrets.token_urlsafe(16)
    state.uploads[upload_token] = Upload(group_id=group_id, account_id=caller.account_id)
    return {"upload_url": f"{base_url}/vk/upload/photo?token={upload_token}"}


def _save_photo(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    if "market" not in caller.scopes or "photos" not in caller.scopes:
        raise ApiFailure(15)
    text = params.get("upload_response")
    upload = next((u for u in state.uploads.values() if u.reply is not None and u.reply == text), None)
    if upload is None or upload.account_id != caller.account_id or upload.saved:
        raise ApiFailure(100, "One of the parameters specified was missing or invalid: upload_response is undefined")
    if not state.goods_enabled[upload.group_id]:
        raise ApiFailure(1438)
    upload.saved = True
    photo = Photo(id=state._next_photo, group_id=upload.group_id, width=upload.width, height=upload.height,
                  sha=upload.sha)
    state._next_photo += 1
    state.photos[photo.id] = photo
    return {"photo_id": photo.id}


_METHODS = {
    "groups.get": _groups_get,
    "market.getCategories": _get_categories,
    "market.getAlbums": _get_albums,
    "market.get": _market_get,
    "market.add": _market_add,
    "market.edit": _market_edit,
    "market.delete": _market_delete,
    "market.restore": _market_restore,
    "market.getProductPhotoUploadServer": _upload_server,
    "market.saveProductPhoto": _save_photo,
}
METHODS = frozenset(_METHODS) | {"execute", "users.get"}


# ----------------------------------------------------------------------------------------------------
# helpers

def _to_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value.strip()):
        return int(value)
    return None


_CALL = re.compile(r"\s*API\.([A-Za-z]+\.[A-Za-z]+)\(")


def parse_execute(code: str) -> list[tuple[str, dict[str, str]]]:
    """The calls of `return [API.a.b({...}),...];` — the VKScript form clients send for batches."""
    text = code.strip()
    if not (text.startswith("return [") and text.endswith("];")):
        raise ApiFailure(12)
    body = text[len("return ["):-2]
    decoder = json.JSONDecoder()
    calls: list[tuple[str, dict[str, str]]] = []
    position = 0
    while position < len(body.rstrip()):
        match = _CALL.match(body, position)
        if match is None:
            raise ApiFailure(12)
        try:
            args, end = decoder.raw_decode(body, match.end())
        except ValueError:
            raise ApiFailure(12) from None
        if not isinstance(args, dict) or body[end:end + 1] != ")":
            raise ApiFailure(12)
        calls.append((match.group(1), {str(k): _param(v) for k, v in args.items()}))
        position = end + 1
        rest = body[position:].lstrip()
        if rest.startswith(","):
            position = len(body) - len(rest) + 1
    return calls


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(_param(v) for v in value)
    return str(value)


def multipart_file(content_type: str, body: bytes, name: str = "file") -> bytes | None:
    """The bytes of one multipart/form-data field, or None."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == name:
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None




# ----------------------------------------------------------------------------------------------------
# HTTP glue: the API methods, the upload server and the control routes

def base_url_of(request: Any) -> str:
    """The sandbox's own address as the caller reached it (upload URLs point back at it)."""
    host = request.headers.get("Host") or "127.0.0.1"
    return f"http://{host}"


def answer_api(goods: GoodsState, caller: Caller, method: str, params: dict[str, str], *,
               base_url: str) -> tuple[Any, ApiFailure | None]:
    """One admitted API request of a known token: (the body to send, or None; the failure, or None)."""
    try:
        if method == "execute":
            with goods._lock:
                goods.calls["execute"] += 1
            return goods.execute(caller, params, base_url=base_url), None
        return {"response": goods.call(caller, method, params, base_url=base_url)}, None
    except ApiFailure as failure:
        return None, failure


class GoodsControl:
    """A client of the goods control routes (/_sandbox/vk/...), for tests and benchmarks."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None) -> Any:
        response = self._session.request(method, f"{self.base_url}/_sandbox/vk/{path}", json=payload,
                                         params=params, timeout=self.timeout)
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"sandbox control {method} /_sandbox/vk/{path} answered {response.status_code}: "
                               f"{response.text[:300]}")
        return response.json()

    def user_token(self, scopes: tuple[str, ...] | list[str] = ("groups", "market", "photos"),
                   account_id: str | None = None) -> str:
        payload: dict[str, Any] = {"scopes": list(scopes)}
        if account_id is not None:
            payload["account_id"] = account_id
        return str(self._call("POST", "user-token", payload)["token"])

    def configure(self, **settings: Any) -> dict[str, Any]:
        """group_id with goods_enabled / item_limit; require_photo; rate_limit (0: none)."""
        return dict(self._call("POST", "goods", settings))

    def items(self, group_id: int) -> list[dict[str, Any]]:
        return list(self._call("GET", "items", params={"group_id": group_id})["items"])

    def seed_items(self, group_id: int, count: int, *, sku_prefix: str = "seed-") -> list[int]:
        return list(self._call("POST", "items", {"group_id": group_id, "count": count,
                                                 "sku_prefix": sku_prefix})["ids"])

    def delete_by_hand(self, group_id: int, item_id: int) -> None:
        self._call("POST", "delete-item", {"group_id": group_id, "item_id": item_id})

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "calls"))

    def reset_stats(self) -> None:
        self._call("DELETE", "calls")
