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

Albums (подборки) live in `albums.py`, orders in `orders.py`, properties and variants in
`variants.py`; items edited by hand go through the control API
(`/_sandbox/vk/edit-item`, `/_sandbox/vk/delete-item`). This module holds the state and its lock;
the methods are in `methods.py`, what arrives on the
wire (`execute`'s code, multipart uploads) in `wire.py`, the records in `model.py`.
"""

from __future__ import annotations

import collections
import hashlib
import json
import secrets
import threading
import time
from decimal import Decimal
from typing import Any

from connhub.providers.vk.sandbox.albums import AlbumBook
from connhub.providers.vk.sandbox.constants import (
    API_RATE_LIMIT,
    CATEGORY_BY_ID,
    COMMUNITIES,
    EXECUTE_MAX_CALLS,
    FIRST_ITEM_ID,
    FIRST_PHOTO_ID,
    MEMBERSHIPS,
    PHOTO_MIN_SIDE,
    PRICE,
)
from connhub.providers.vk.sandbox.methods import METHOD_TABLE
from connhub.providers.vk.sandbox.model import (
    ApiFailure,
    Caller,
    Item,
    Photo,
    Upload,
    has_link,
    image_size,
    item_json,
    to_int,
    vk_length,
)
from connhub.providers.vk.sandbox.orders import OrderBook
from connhub.providers.vk.sandbox.photos_bulk import BULK_METHODS, BulkState
from connhub.providers.vk.sandbox.variants import VariantBook, item_variants
from connhub.providers.vk.sandbox.wire import parse_execute


class GoodsState:
    """Everything a test can change on the goods side; `reset` restores the seed."""

    def __init__(self, more_methods: dict[str, Any] | None = None) -> None:
        self._lock = threading.RLock()
        # more_methods: e.g. users.get, kept beside the VK ID side; BULK_METHODS: photos_bulk.py
        self._methods = {**METHOD_TABLE, **BULK_METHODS, **(more_methods or {})}
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.goods_enabled = {gid: bool(seed["goods"]) for gid, seed in COMMUNITIES.items()}
            self.item_limit: dict[int, int | None] = {gid: None for gid in COMMUNITIES}
            self.items: dict[int, Item] = {}
            self.albums = AlbumBook()
            self.orders = OrderBook()
            self.variants = VariantBook()
            self.photos: dict[int, Photo] = {}
            self.uploads: dict[str, Upload] = {}
            self.bulk = BulkState()  # bulk photo uploads (photos_bulk.py)
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
            self.albums.forget_item(item_id)
            self.variants.forget_item(item_id)
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
            return [item_json(item, extended=True) | {"deleted": item.deleted, "hidden": item.hidden,
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

        with self._lock:
            upload = self.uploads.get(upload_token)
            if upload is None or upload.reply is not None:
                return json.dumps({"error": "upload token is unknown or used"})
        if not data:
            return json.dumps({"error": "no file in field 'file'"})
        size = image_size(data)
        if isinstance(size, str):
            return json.dumps({"error": size})
        width, height = size
        sha = hashlib.sha256(data).hexdigest()
        reply = json.dumps({"sha": sha[:16], "server": "1", "photo_key": secrets.token_hex(8),
                            "hash": sha[16:48]}, separators=(",", ":"))
        with self._lock:
            upload.reply, upload.width, upload.height, upload.sha = reply, width, height, sha
        return reply

    # --- helpers (the caller holds the lock) -------------------------------------------------------

    def _group(self, caller: Caller, raw_owner: str | None, *, negative: bool = True) -> int:
        number = to_int(raw_owner)
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
        item = self.items.get(to_int(raw_item) or -1)
        if item is None or item.group_id != group_id or (item.deleted and not allow_deleted):
            raise ApiFailure(1403)
        return item

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
            category_id = to_int(params.get("category_id"))
            if category_id is None or category_id not in CATEGORY_BY_ID:
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
            stock = to_int(params["stock_amount"])
            if stock is None or not -1 <= stock <= 999_999:
                raise ApiFailure(100, "One of the parameters specified was missing or invalid: stock_amount")
            values["stock_amount"] = stock
        if "variant_ids" in params:
            values["variant_ids"] = item_variants(self, group_id, params["variant_ids"])
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
        photo = self.photos.get(to_int(raw) or -1)
        if photo is None or photo.group_id != group_id:
            raise ApiFailure(100, "One of the parameters specified was missing or invalid: photo not found")
        if photo.width < PHOTO_MIN_SIDE or photo.height < PHOTO_MIN_SIDE:
            raise ApiFailure(1435)
        return photo.id

    def _active_count(self, group_id: int) -> int:
        return sum(1 for item in self.items.values() if item.group_id == group_id and not item.deleted)

