"""Evotor's catalog, emulated: product groups and products of each demo store, served as v2 lists.

Served exactly as reference E1-E3 describe: `{"items", "paging"}` pages of at most 1000 (the
default), `?cursor=` with an opaque `next_cursor`, `"paging": {}` on the last page, 400 for a cursor
that was never issued, `since` (epoch ms) honoured only on the first request of a series. Items
omit absent fields (never null), root items carry no `parent_id`, timestamps look like
`2018-09-11T16:18:35.397+0000`. A modification group has `attributes`; its modifications are
products with `attributes_choices`.

The state lives here (`SandboxCatalog`); the seed in `seed.py`, the HTTP routes in `catalog_http.py`.
The seeded catalogs are deterministic: the first demo store («Чайная») holds about 5,000 products
with missing optional fields, zero and fractional prices, fractional and negative quantities,
unknown types and names at the 128-character limit; the other stores are small. The control API
adds, changes and deletes products, and makes the catalog answer 403 (a missing right) or 429.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connhub.providers.evotor.sandbox.constants import (
    BIG_STORE_PRODUCTS,
    EVOTOR_ACCOUNTS,
    FORBIDDABLE,
    IMAGE_SHARE,
    IMAGE_SIDE,
    MAX_CURSORS,
    MAX_PAGE,
    RIGHTS,
    SEED_TIME,
)
from connhub.providers.evotor.sandbox.seed import StoreCatalog, evotor_time, parse_time, seed_store, seeded_png


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class SandboxCatalog:
    """All demo stores' catalogs, their cursors and the catalog's injected refusals; thread-safe."""

    def __init__(self, big_store_products: int = BIG_STORE_PRODUCTS) -> None:
        self._lock = threading.Lock()
        self._big = big_store_products
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._stores: dict[tuple[str, str], StoreCatalog] = {}  # seeded on first use
            self._cursors: OrderedDict[str, tuple[str, str, str, int, int | None]] = OrderedDict()
            self._forbidden: set[str] = set()  # resources answering 403
            self._rate_limited = 0  # catalog requests left that answer 429
            self._rate_reset = 1
            self._quantity_right = True
            self.requests = 0
            # (account, store) → product id → its image, or None once removed; seeded images are implied
            self._images: dict[tuple[str, str], dict[str, dict[str, Any] | None]] = {}
            self.image_lists = 0
            self.image_downloads = 0

    # --- control ---

    def configure(self, *, forbid: list[str] | None = None, rate_limit: int | None = None,
                  reset_seconds: int | None = None, quantity_right: bool | None = None) -> dict[str, Any]:
        with self._lock:
            if forbid is not None:
                unknown = [r for r in forbid if r not in FORBIDDABLE]
                if unknown:
                    raise ValueError(f"unknown resource: {unknown[0]}")
                self._forbidden = set(forbid)
            if rate_limit is not None:
                self._rate_limited = rate_limit
            if reset_seconds is not None:
                self._rate_reset = reset_seconds
            if quantity_right is not None:
                self._quantity_right = quantity_right
            return {"forbid": sorted(self._forbidden), "rate_limit": self._rate_limited,
                    "reset_seconds": self._rate_reset, "quantity_right": self._quantity_right,
                    "requests": self.requests, "image_lists": self.image_lists,
                    "image_downloads": self.image_downloads}

    # --- images (reference E4: at most one per product, a 300×300 PNG) ---

    def set_images(self, account_id: str, store_id: str, changes: list[dict[str, Any]]) -> int:
        """Each change is {product_id, action: "set"|"remove", data_base64?, pad_to?}: "set" gives the
        product a new image (a new id; the bytes given, or a fresh deterministic PNG, grown with zero
        bytes to `pad_to` bytes when given), "remove" takes it away."""
        with self._lock:
            self._store(account_id, store_id)
            table = self._images.setdefault((account_id, store_id), {})
            now = evotor_time(datetime.now(UTC))
            for change in changes:
                product_id = str(change.get("product_id") or "")
                action = change.get("action")
                if not product_id or action not in ("set", "remove"):
                    raise ValueError("an image change needs product_id and action set|remove")
                if action == "remove":
                    table[product_id] = None
                    continue
                data = base64.b64decode(str(change["data_base64"])) if change.get("data_base64") else None
                image_id = str(uuid.uuid4())
                pad_to = change.get("pad_to")
                if pad_to is not None:  # a file that large: the image followed by zero bytes
                    if isinstance(pad_to, bool) or not isinstance(pad_to, int) or not 0 <= pad_to <= 64 << 20:
                        raise ValueError("pad_to must be a byte count up to 64 MiB")
                    data = data if data is not None else seeded_png(image_id)
                    data += b"\0" * max(0, pad_to - len(data))
                table[product_id] = {"id": image_id, "seed": image_id, "data": data, "created_at": now,
                                     "updated_at": now}
            return len(changes)

    def product_image_ids(self, account_id: str, store_id: str) -> list[str]:
        """The products of the store that have an image now."""
        with self._lock:
            catalog = self._store(account_id, store_id)
            table = self._images.get((account_id, store_id), {})
            ids = [pid for pid in catalog.products if self._image(account_id, store_id, pid) is not None]
            return ids + [pid for pid, image in table.items() if image is not None and pid not in catalog.products]

    def _image(self, account_id: str, store_id: str, product_id: str) -> dict[str, Any] | None:
        table = self._images.get((account_id, store_id), {})
        if product_id in table:
            return table[product_id]
        catalog = self._find(account_id, store_id)
        if catalog is None or product_id not in catalog.products:
            return None
        digest = hashlib.sha256(f"{account_id}/{store_id}/{product_id}".encode()).digest()
        if digest[0] % 10 >= IMAGE_SHARE:
            return None
        stamp = evotor_time(SEED_TIME)
        return {"id": str(uuid.UUID(bytes=digest[:16], version=4)), "seed": product_id, "data": None,
                "created_at": stamp, "updated_at": stamp}

    def image_list(self, account_id: str, store_id: str, product_id: str, base_url: str) -> Answer:
        """GET /stores/{store_id}/products/{product_id}/images."""
        with self._lock:
            self.requests += 1
            self.image_lists += 1
            if self._rate_limited > 0:
                self._rate_limited -= 1
                return Answer(429, {"code": "too_many_requests", "message": "Rate Limit Exceeded"},
                              {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(self._rate_reset)})
            if "images" in self._forbidden:
                return Answer(403, {"code": "forbidden", "message": f"insufficient scope: {RIGHTS['images']} required"})
            catalog = self._find(account_id, store_id)
            if catalog is None:
                return Answer(404, {"code": "not_found", "message": "store not found"})
            image = self._image(account_id, store_id, product_id)
            known = product_id in catalog.products or product_id in self._images.get((account_id, store_id), {})
            if not known:
                return Answer(404, {"code": "not_found", "message": "product not found"})
            items = []
            if image is not None:
                data = self._image_bytes(image)
                items.append({
                    "id": image["id"], "user_id": account_id, "store_id": store_id, "product_id": product_id,
                    "url": f"{base_url}/evotor/images/{account_id}/{store_id}/{product_id}/{image['id']}",
                    "meta": {"extension": "png", "file_size": len(data), "width": IMAGE_SIDE, "height": IMAGE_SIDE},
                    "created_at": image["created_at"], "updated_at": image["updated_at"]})
            return Answer(200, {"items": items, "paging": {}})

    def image_file(self, account_id: str, store_id: str, product_id: str, image_id: str) -> bytes | None:
        """The bytes behind an image URL; None when that image is no longer the product's."""
        with self._lock:
            self.image_downloads += 1
            image = self._image(account_id, store_id, product_id)
            if image is None or image["id"] != image_id:
                return None
            return self._image_bytes(image)

    @staticmethod
    def _image_bytes(image: dict[str, Any]) -> bytes:
        data: bytes | None = image.get("data")
        return data if data is not None else seeded_png(str(image["seed"]))

    def upsert(self, account_id: str, store_id: str, items: list[dict[str, Any]]) -> int:
        """Add products, or change the given fields of existing ones; `null` removes a field."""
        with self._lock:
            catalog = self._store(account_id, store_id)
            now = evotor_time(datetime.now(UTC))
            for item in items:
                product_id = str(item.get("id") or uuid.uuid4())
                current = dict(catalog.products.get(product_id) or {
                    "id": product_id, "type": "NORMAL", "measure_name": "шт", "tax": "NO_VAT",
                    "allow_to_sell": True, "price": 0, "store_id": store_id, "user_id": account_id,
                    "created_at": now})
                for key, value in item.items():
                    if value is None:
                        current.pop(key, None)
                    else:
                        current[key] = value
                current["updated_at"] = now
                if "name" not in current:
                    raise ValueError("a new product needs a name")
                catalog.products[product_id] = current
            return len(items)

    def delete(self, account_id: str, store_id: str, ids: list[str]) -> int:
        with self._lock:
            catalog = self._store(account_id, store_id)
            return sum(1 for pid in ids if catalog.products.pop(pid, None) is not None)

    def product_ids(self, account_id: str, store_id: str) -> list[str]:
        with self._lock:
            return list(self._store(account_id, store_id).products)

    def _store(self, account_id: str, store_id: str) -> StoreCatalog:
        found = self._find(account_id, store_id)
        if found is None:
            raise ValueError(f"no store {store_id} in account {account_id}")
        return found

    def _find(self, account_id: str, store_id: str) -> StoreCatalog | None:
        key = (account_id, store_id)
        found = self._stores.get(key)
        if found is None:
            accounts = EVOTOR_ACCOUNTS
            stores = [store["id"] for store in accounts.get(account_id, ())]
            if store_id not in stores:
                return None
            big = account_id == next(iter(accounts)) and stores.index(store_id) == 0
            found = seed_store(account_id, store_id, self._big if big else 40, seed=f"{account_id}/{store_id}")
            self._stores[key] = found
        return found

    # --- the API ---

    def answer(self, account_id: str, store_id: str, resource: str, item_id: str | None,
               params: dict[str, str], remaining: int) -> Answer:
        """GET /stores/{store_id}/{resource}[/{item_id}] for the token owner `account_id`."""
        with self._lock:
            self.requests += 1
            limit_headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": str(remaining),
                             "X-RateLimit-Reset": str(self._rate_reset)}
            if self._rate_limited > 0:
                self._rate_limited -= 1
                return Answer(429, {"code": "too_many_requests", "message": "Rate Limit Exceeded"},
                              {**limit_headers, "X-RateLimit-Remaining": "0"})
            if resource in self._forbidden:
                return Answer(403, {"code": "forbidden",
                                    "message": f"insufficient scope: {RIGHTS[resource]} required"})
            catalog = self._find(account_id, store_id)
            if catalog is None:
                return Answer(404, {"code": "not_found", "message": "store not found"})
            table = catalog.groups if resource == "product-groups" else catalog.products
            if item_id is not None:
                found = table.get(item_id)
                if found is None:
                    noun = "product group" if resource == "product-groups" else "product"
                    return Answer(404, {"code": "not_found", "message": f"{noun} not found"})
                return Answer(200, self._shown(resource, found), limit_headers)
            return self._list(account_id, store_id, resource, table, params, limit_headers)

    def _list(self, account_id: str, store_id: str, resource: str, table: OrderedDict[str, dict[str, Any]],
              params: dict[str, str], headers: dict[str, str]) -> Answer:
        limit_text = params.get("limit", str(MAX_PAGE))
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_PAGE:
            return _validation_failed("limit", f"must be between 1 and {MAX_PAGE}")
        limit = int(limit_text)
        since: int | None = None
        if "cursor" in params:
            issued = self._cursors.get(params["cursor"])
            if issued is None or issued[:3] != (account_id, store_id, resource):
                return _validation_failed("cursor", "invalid cursor")
            offset, since = issued[3], issued[4]  # a series keeps the `since` of its first request
        else:
            offset = 0
            if "since" in params:
                if not params["since"].lstrip("-").isdigit():
                    return _validation_failed("since", "must be a number")
                since = int(params["since"])
        items = list(table.values())
        if since is not None:
            cutoff = datetime.fromtimestamp(since / 1000, UTC)
            items = [item for item in items if parse_time(item["updated_at"]) >= cutoff]
        end = offset + limit
        page = [self._shown(resource, item) for item in items[offset:end]]
        paging: dict[str, str] = {}
        if end < len(items):
            paging["next_cursor"] = self._issue(account_id, store_id, resource, end, since)
        return Answer(200, {"items": page, "paging": paging}, headers)

    def _issue(self, account_id: str, store_id: str, resource: str, offset: int, since: int | None) -> str:
        token = secrets.token_urlsafe(24)
        self._cursors[token] = (account_id, store_id, resource, offset, since)
        while len(self._cursors) > MAX_CURSORS:
            self._cursors.popitem(last=False)
        return token

    def _shown(self, resource: str, item: dict[str, Any]) -> dict[str, Any]:
        if resource == "products" and not self._quantity_right and "quantity" in item:
            return {key: value for key, value in item.items() if key != "quantity"}
        return dict(item)


def _validation_failed(subject: str, reason: str) -> Answer:
    return Answer(400, {"code": "validation_failed", "message": "validation failed for specified payload",
                        "violations": [{"reason": reason, "subject": subject}]})
