"""Evotor's catalog, emulated: product groups and products of each demo store, served as v2 lists.

Served exactly as reference E1-E3 describe: `{"items", "paging"}` pages of at most 1000 (the
default), `?cursor=` with an opaque `next_cursor`, `"paging": {}` on the last page, 400 for a cursor
that was never issued, `since` (epoch ms) honoured only on the first request of a series. Items
omit absent fields (never null), root items carry no `parent_id`, timestamps look like
`2018-09-11T16:18:35.397+0000`. A modification group has `attributes`; its modifications are
products with `attributes_choices`.

The seeded catalogs are deterministic: the first demo store («Чайная») holds about 5,000 products
with missing optional fields, zero and fractional prices, fractional and negative quantities,
unknown types and names at the 128-character limit; the other stores are small. The control API
adds, changes and deletes products, and makes the catalog answer 403 (a missing right) or 429.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import secrets
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from connhub.sandbox.web import BadRequest, json_response

if TYPE_CHECKING:
    from connhub.sandbox.control import SandboxControl
    from connhub.sandbox.state import SandboxState
    from connhub.sandbox.web import Request, Response



def _accounts() -> dict[str, tuple[dict[str, str], ...]]:
    from connhub.providers.evotor.sandbox import EVOTOR_ACCOUNTS  # that module imports this one

    return EVOTOR_ACCOUNTS

MAX_PAGE = 1000
BIG_STORE_PRODUCTS = 5000
MAX_CURSORS = 20_000
RESOURCES = ("product-groups", "products")
RIGHTS = {"product-groups": "product-group:read", "products": "product:read", "images": "product.image:read"}
FORBIDDABLE = (*RESOURCES, "images")
IMAGE_SIDE = 300
IMAGE_SHARE = 6  # of every 10 seeded products have an image
SEED_TIME = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def evotor_time(moment: datetime) -> str:
    """Evotor's timestamp format: milliseconds and an offset without a colon."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass
class StoreCatalog:
    groups: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    products: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)


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
            accounts = _accounts()
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
            items = [item for item in items if _parse_time(item["updated_at"]) >= cutoff]
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


# --- seed data -------------------------------------------------------------------------------

_TREE = (
    # (key, name, parent key, attributes)
    ("tea", "Чай", None, None),
    ("black", "Чёрный чай", "tea", None),
    ("indian", "Индийский чай", "black", None),
    ("ceylon", "Цейлонский чай", "black", None),
    ("green", "Зелёный чай", "tea", None),
    ("chinese", "Китайский зелёный чай", "green", None),
    ("coffee", "Кофе", None, None),
    ("beans", "Кофе в зёрнах", "coffee", None),
    ("ground", "Молотый кофе", "coffee", None),
    ("sweets", "Сладости", None, None),
    ("chocolate", "Шоколад", "sweets", None),
    ("cookies", "Печенье", "sweets", None),
    ("tableware", "Посуда", None, None),
    ("souvenirs", "Сувениры", None, None),
    ("tshirts", "Футболки с логотипом", "souvenirs", "modifications"),
    ("services", "Услуги", None, None),
    ("alcohol", "Алкоголь", None, None),
)
_COLOURS = ("Белый", "Чёрный")
_SIZES = ("S", "M", "L")
_WORDS = {
    "indian": ("Ассам", "Дарджилинг", "Нилгири"), "ceylon": ("Уда Пусселлава", "Димбула", "Нувара Элия"),
    "chinese": ("Лунцзин", "Билочунь", "Хуан Шань Мао Фэн"), "black": ("Английский завтрак", "Эрл Грей"),
    "green": ("Сенча", "Матча"), "tea": ("Ассорти", "Травяной сбор"), "beans": ("Эфиопия", "Колумбия", "Бразилия"),
    "ground": ("Эспрессо", "Для турки"), "coffee": ("Капсулы", "Дрип-пакеты"),
    "chocolate": ("Горький 70%", "Молочный", "С орехом"), "cookies": ("Овсяное", "Имбирное", "Миндальное"),
    "sweets": ("Пастила", "Зефир"), "tableware": ("Чайник", "Пиала", "Гайвань", "Кружка"),
    "souvenirs": ("Магнит", "Открытка"), "alcohol": ("Вино красное", "Пиво светлое", "Сидр"),
}
_MEASURES = ("шт", "шт", "шт", "кг", "упак", "г", "пара")
_UNKNOWN_TYPES = ("SHOES_MARKED", "LOTTERY_TICKET", "DAIRY_MARKED", "TEA_MARKED_2027")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _money(rng: random.Random) -> float:
    kind = rng.random()
    if kind < 0.04:
        return 0
    if kind < 0.2:
        return rng.randint(1, 999) + 0.5  # fractional
    return round(rng.uniform(10, 9000), 2)


def seed_store(account_id: str, store_id: str, product_count: int, *, seed: str) -> StoreCatalog:
    rng = random.Random(seed)
    catalog = StoreCatalog()
    stamp = evotor_time(SEED_TIME)
    ids: dict[str, str] = {}
    for key, name, parent, attributes in _TREE:
        group_id = _uuid(rng)
        ids[key] = group_id
        group: dict[str, Any] = {"id": group_id, "name": name}
        if parent is not None:
            group["parent_id"] = ids[parent]
        if attributes:
            group["barcodes"] = ["2000000000060"]
            group["attributes"] = [
                {"id": _uuid(rng), "name": "Цвет", "choices": [{"id": _uuid(rng), "name": c} for c in _COLOURS]},
                {"id": _uuid(rng), "name": "Размер", "choices": [{"id": _uuid(rng), "name": s} for s in _SIZES]},
            ]
        group.update({"store_id": store_id, "user_id": account_id, "created_at": stamp, "updated_at": stamp})
        catalog.groups[group_id] = group

    def base(name: str, parent: str | None, kind: str = "NORMAL") -> dict[str, Any]:
        item: dict[str, Any] = {"id": _uuid(rng), "name": name[:128]}
        if parent is not None:
            item["parent_id"] = ids[parent]
        item.update({"type": kind, "measure_name": "шт", "tax": rng.choice(("NO_VAT", "VAT_20", "VAT_10")),
                     "allow_to_sell": rng.random() > 0.1, "price": _money(rng)})
        return item

    def finish(item: dict[str, Any]) -> None:
        updated = SEED_TIME - timedelta(minutes=rng.randint(0, 60 * 24 * 30))
        item.update({"store_id": store_id, "user_id": account_id, "created_at": stamp,
                     "updated_at": evotor_time(updated)})
        catalog.products[item["id"]] = item

    # The modification group: one product per colour and size.
    tshirts = catalog.groups[ids["tshirts"]]
    for colour in tshirts["attributes"][0]["choices"]:
        for size in tshirts["attributes"][1]["choices"]:
            item = base(f"Футболка «Чайная» {colour['name']} {size['name']}", "tshirts")
            item["price"] = 1490
            item["attributes_choices"] = {tshirts["attributes"][0]["id"]: colour["id"],
                                          tshirts["attributes"][1]["id"]: size["id"]}
            item["quantity"] = rng.randint(-2, 20)
            finish(item)

    leafy = [key for key in _WORDS]
    made = len(catalog.products)
    number = 0
    while made < product_count:
        number += 1
        roll = rng.random()
        if roll < 0.03:
            item = base(f"Доставка, зона {number}", "services" if rng.random() < 0.7 else None, "SERVICE")
            item["measure_name"] = "усл"
            finish(item)  # a service: no cost price, no quantity
            made += 1
            continue
        key = rng.choice(leafy)
        home: str | None = key if rng.random() > 0.02 else None  # a few sit at the catalog root
        name = f"{rng.choice(_WORDS[key])} №{number}"
        if number % 997 == 0:
            filler = "очень длинное название для проверки предела в сто двадцать восемь символов " * 3
            name = (name + " — " + filler)[:128]
        if number == 13:
            name = "=Акция: 1+1"  # a name a spreadsheet would read as a formula
        kind = "NORMAL"
        if key == "alcohol":
            kind = rng.choice(("ALCOHOL_NOT_MARKED", "ALCOHOL_MARKED", "BEER_MARKED"))
        elif rng.random() < 0.02:
            kind = rng.choice(_UNKNOWN_TYPES)
        elif rng.random() < 0.01:
            kind = "TOBACCO_MARKED"
        item = base(name, home, kind)
        measure = rng.choice(_MEASURES)
        item["measure_name"] = measure
        if rng.random() < 0.8:
            item["cost_price"] = round(rng.uniform(1, 5000), 3 if rng.random() < 0.3 else 2)
        quantity_roll = rng.random()
        if quantity_roll < 0.85:
            if measure in ("кг", "г"):
                item["quantity"] = round(rng.uniform(-1, 50), 3)
            else:
                item["quantity"] = rng.randint(-3, 200)
        if rng.random() < 0.7:
            item["code"] = str(number)[:10]
        if rng.random() < 0.6:
            item["article_number"] = f"ART-{number:05d}"
        barcode_roll = rng.random()
        if barcode_roll < 0.6:
            item["barcodes"] = [f"46{rng.randint(10**10, 10**11 - 1)}"]
        elif barcode_roll < 0.7:
            item["barcodes"] = []
        description_roll = rng.random()
        if description_roll < 0.3:
            item["description"] = f"{name}. Хранить в сухом месте."
        elif description_roll < 0.5:
            item["description"] = ""
        if rng.random() < 0.05:
            item["attributes_choices"] = {}
        finish(item)
        made += 1
    return catalog


def seeded_png(seed: str) -> bytes:
    """A deterministic 300×300 PNG for `seed`: a coloured square with a lighter band (no metadata)."""
    from PIL import Image, ImageDraw

    digest = hashlib.sha256(seed.encode()).digest()
    picture = Image.new("RGB", (IMAGE_SIDE, IMAGE_SIDE), (digest[0], digest[1], digest[2]))
    draw = ImageDraw.Draw(picture)
    top = 40 + digest[3] % 160
    draw.rectangle((30, top, IMAGE_SIDE - 30, top + 60), fill=(255 - digest[0], 255 - digest[1], 255 - digest[2]))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


# --- HTTP: the API routes and the control route ----------------------------------------------


def api(state: SandboxState, request: Request) -> Response:
    """GET /evotor/api/stores/{store_id}/(product-groups|products)[/{id}] for the token's owner."""
    from connhub.providers.evotor import sandbox as evotor

    parts = request.path.removeprefix("/evotor/api/stores/").split("/")
    is_images = len(parts) == 4 and parts[1] == "products" and parts[3] == "images" and all(parts)
    if not is_images and (len(parts) not in (2, 3) or parts[1] not in RESOURCES or not parts[0]):
        return json_response({"code": "not_found", "message": f"no such path: {request.path}"}, 404)
    checks = [state.check_access(evotor.EVOTOR, presented) for presented in evotor._presented_tokens(request)]
    owner = next((check.account_id for check in checks if check.verdict == "ok"), None)
    if owner is None:
        refusal = next((evotor._REFUSALS[c.verdict] for c in checks if c.verdict in evotor._REFUSALS),
                       evotor._UNAUTHORIZED)
        return json_response(refusal[1], refusal[0])
    remaining, _reset = state.rate(evotor.EVOTOR, owner, limit=evotor.EVOTOR_RATE_LIMIT,
                                   window_seconds=evotor.EVOTOR_RATE_WINDOW)
    catalog: SandboxCatalog = state.extra(evotor.EVOTOR)
    if is_images:
        from connhub.providers.vk.goods_sandbox import base_url_of

        listed = catalog.image_list(owner, parts[0], parts[2], base_url_of(request))
        return json_response(listed.body, listed.status, listed.headers)
    answer = catalog.answer(owner, parts[0], parts[1], parts[2] if len(parts) == 3 else None, request.params,
                            remaining)
    return json_response(answer.body, answer.status, answer.headers)


def image_file(state: SandboxState, request: Request) -> Response:
    """GET /evotor/images/{account}/{store}/{product}/{image id}: the static file server (no token)."""
    from connhub.sandbox.web import Response

    parts = request.path.removeprefix("/evotor/images/").split("/")
    catalog: SandboxCatalog = state.extra("evotor")
    data = catalog.image_file(*parts) if len(parts) == 4 and all(parts) else None
    if data is None:
        return Response(404, b"not found")
    return Response(200, data, "image/png")


def configure(control_api: SandboxControl, **payload: Any) -> dict[str, Any]:
    """Through the control API: upsert=[products], delete=[ids], forbid=["products"|"product-groups"],
    rate_limit=n (the next n catalog requests answer 429), reset_seconds, quantity_right, list_ids=True,
    images=[{product_id, action: "set"|"remove", data_base64?, pad_to?}] (forbid may name "images" too);
    account_id/store_id default to the first demo store."""
    answer: dict[str, Any] = control_api.post("evotor-catalog", payload)
    return answer


def control(state: SandboxState, request: Request) -> Response:
    """GET: the catalog's settings. POST {account_id?, store_id?, upsert?, delete?, forbid?,
    rate_limit?, reset_seconds?, quantity_right?, list_ids?}: change products and how the catalog
    answers. account_id and store_id default to the first demo store."""
    catalog: SandboxCatalog = state.extra("evotor")
    if request.method == "GET":
        return json_response(catalog.configure())
    body = request.json()
    accounts = _accounts()
    account_id = str(body.get("account_id") or next(iter(accounts)))
    store_id = str(body.get("store_id") or accounts.get(account_id, ({"id": ""},))[0]["id"])
    answer: dict[str, Any] = {}
    try:
        if "upsert" in body:
            if not isinstance(body["upsert"], list) or not all(isinstance(i, dict) for i in body["upsert"]):
                raise BadRequest("upsert must be a list of product objects")
            answer["upserted"] = catalog.upsert(account_id, store_id, body["upsert"])
        if "delete" in body:
            if not isinstance(body["delete"], list):
                raise BadRequest("delete must be a list of product ids")
            answer["deleted"] = catalog.delete(account_id, store_id, [str(i) for i in body["delete"]])
        if "images" in body:
            if not isinstance(body["images"], list) or not all(isinstance(i, dict) for i in body["images"]):
                raise BadRequest("images must be a list of {product_id, action} objects")
            answer["images"] = catalog.set_images(account_id, store_id, body["images"])
        settings = {key: body[key] for key in ("forbid", "rate_limit", "reset_seconds", "quantity_right")
                    if key in body}
        for key in ("rate_limit", "reset_seconds"):
            if key in settings and (isinstance(settings[key], bool) or not isinstance(settings[key], int)
                                    or settings[key] < 0):
                raise BadRequest(f"{key} must be a non-negative integer")
        answer.update(catalog.configure(**settings))
        if body.get("list_ids"):
            answer["ids"] = catalog.product_ids(account_id, store_id)
            answer["with_images"] = catalog.product_image_ids(account_id, store_id)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    return json_response(answer)
