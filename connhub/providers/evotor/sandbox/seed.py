"""The seeded store catalogs: their shape (`StoreCatalog`) and their content — deterministic groups,
modification groups and products with missing fields, odd prices and unknown types, and images."""

from __future__ import annotations

import hashlib
import io
import random
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connhub.providers.evotor.sandbox.constants import IMAGE_SIDE, SEED_TIME


def evotor_time(moment: datetime) -> str:
    """Evotor's timestamp format: milliseconds and an offset without a colon."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass
class StoreCatalog:
    groups: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    products: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)



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
