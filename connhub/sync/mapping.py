"""Evotor product facts → the fields of a VK goods item: a pure function, no I/O.

What VK accepts (docs/vk-goods.md, «Fields and limits»):
- `name` 4–100 characters, counted as VK counts them: VK keeps text in cp1251, so a character
  outside cp1251 (an emoji, a rare letter) is stored as an HTML entity `&#NNNN;` and counts as
  that many characters (`vk_length`). How VK counts those exactly is not documented; counting
  the entity is the cautious reading, and the sandbox counts the same way.
- `description` at least 10 characters, required, and with no links (error 1408).
- `price` in rubles with two decimals going in; read back, `price.amount` is in kopecks. Prices
  are `Decimal` all the way and never pass through a float.
- `sku` at most 50 characters: the Evotor product id (a 36-character UUID) goes there, so an
  interrupted run can find its item again.
- `stock_amount` an integer from -1 to 999999.

`map_product` returns either a `VkItem` (publish it, possibly hidden) or a `Skipped` (keep it off
VK, with the reason); `VkItem.fingerprint` is a stable hash of everything that would be
published, so an unchanged product costs no write call.

Over 300 lines: the mapper and the number and text rules it is made of stay together, so one
table of tests covers them all.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

NAME_MIN = 4
NAME_MAX = 100
DESCRIPTION_MIN = 10
SKU_MAX = 50
STOCK_MAX = 999_999
PRICE_MAX = Decimal("999999999999")
KOPECK = Decimal("0.01")
ELLIPSIS = "…"  # in cp1251 (0x85), so it counts as one character

DEFAULT_TEMPLATE = "{name} (цена за {measure})"
TEMPLATE_FIELDS = ("name", "measure", "article", "description", "price")
FINGERPRINT_VERSION = "1"


class ZeroPrice(enum.StrEnum):
    """What to do with a product whose price (after the multiplier) is zero."""

    SKIP = "skip"  # keep it off VK (the default: VK's older rules wanted at least 0.01)
    PUBLISH = "publish"


class NotForSale(enum.StrEnum):
    """What to do with a product Evotor marks as not for sale (`allow_to_sell` false)."""

    HIDE = "hide"  # published hidden (`deleted=1`): stays on VK but buyers do not see it
    PUBLISH = "publish"


class SkipReason(enum.StrEnum):
    ZERO_PRICE = "zero_price"
    NEGATIVE_PRICE = "negative_price"
    PRICE_TOO_HIGH = "price_too_high"
    ID_TOO_LONG = "id_too_long"


SKIP_MESSAGES = {
    SkipReason.ZERO_PRICE: "Нулевая цена: по настройке такие товары не выгружаются",
    SkipReason.NEGATIVE_PRICE: "Отрицательная цена в Эвоторе",
    SkipReason.PRICE_TOO_HIGH: "Цена больше, чем принимает ВКонтакте",
    SkipReason.ID_TOO_LONG: "Идентификатор товара длиннее 50 символов и не помещается в артикул ВКонтакте",
}


@dataclass(frozen=True)
class ProductFacts:
    """What the mapper needs to know about one Evotor product (or one modification)."""

    id: str
    name: str
    measure: str = ""
    article: str | None = None
    description: str | None = None
    price: Decimal | None = None
    quantity: Decimal | None = None
    allow_to_sell: bool = True
    type: str = "NORMAL"  # an open enumeration in Evotor: kept as the string it came as
    choices: tuple[str, ...] = ()  # a modification's choice names, in attribute order
    image: str | None = None  # a reference to the product's image (its id or content hash)

    @classmethod
    def from_evotor(cls, product: Mapping[str, Any], *, choices: tuple[str, ...] = (),
                    image: str | None = None) -> ProductFacts:
        """Build the facts from an Evotor v2 product object; absent keys are `None`, never errors.

        Numbers may arrive as `Decimal` (json parsed with `parse_float=Decimal`), `int`, `str`
        or `float`; a float is read through its shortest repr, so 123.12 stays 123.12.
        """
        return cls(
            id=str(product["id"]),
            name=str(product.get("name") or ""),
            measure=str(product.get("measure_name") or ""),
            article=_optional_text(product.get("article_number")),
            description=_optional_text(product.get("description")),
            price=to_decimal(product.get("price")),
            quantity=to_decimal(product.get("quantity")),
            allow_to_sell=bool(product.get("allow_to_sell", True)),
            type=str(product.get("type") or ""),
            choices=tuple(choices),
            image=image,
        )


@dataclass(frozen=True)
class MappingPolicy:
    """The parts of a sync configuration that decide how a product looks on VK."""

    multiplier: Decimal = Decimal("1")
    zero_price: ZeroPrice = ZeroPrice.SKIP
    not_for_sale: NotForSale = NotForSale.HIDE
    template: str = DEFAULT_TEMPLATE
    stock: bool = False  # send `stock_amount` from the Evotor quantity
    category_id: int | None = None

    def __post_init__(self) -> None:
        given: object = self.multiplier  # a page may hand over an int or a string
        if isinstance(given, int | str) and not isinstance(given, bool):
            object.__setattr__(self, "multiplier", to_decimal(given))
        problems = policy_problems(self)
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True)
class VkItem:
    """The fields of a VK goods item as `market.add`/`market.edit` take them (less owner and photo)."""

    sku: str
    name: str
    description: str
    price: Decimal  # rubles, exactly two decimals
    hidden: bool = False
    stock_amount: int | None = None
    category_id: int | None = None
    image: str | None = None
    fingerprint: str = field(default="", compare=False)

    @property
    def price_kopecks(self) -> int:
        return to_kopecks(self.price)

    def params(self) -> dict[str, str]:
        """The form parameters for `market.add`/`market.edit` (VK wants every value as text)."""
        out = {
            "name": self.name,
            "description": self.description,
            "price": format(self.price, "f"),
            "sku": self.sku,
            "deleted": "1" if self.hidden else "0",
        }
        if self.category_id is not None:
            out["category_id"] = str(self.category_id)
        if self.stock_amount is not None:
            out["stock_amount"] = str(self.stock_amount)
        return out


@dataclass(frozen=True)
class Skipped:
    product_id: str
    reason: SkipReason

    @property
    def message(self) -> str:
        return SKIP_MESSAGES[self.reason]


# ---------------------------------------------------------------------------------------------
# numbers

def to_decimal(value: Any) -> Decimal | None:
    """A number from Evotor as an exact Decimal; `None` for absent or unreadable values."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))  # the shortest repr: 123.12, not 123.1199999…
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip().replace(",", "."))
        except InvalidOperation:
            return None
    else:
        return None
    return result if result.is_finite() else None


def vk_price(price: Decimal | None, multiplier: Decimal = Decimal("1")) -> Decimal:
    """The price to send to VK: price × multiplier in rubles, rounded half up to kopecks."""
    return ((price or Decimal(0)) * multiplier).quantize(KOPECK, rounding=ROUND_HALF_UP)


def to_kopecks(rubles: Decimal) -> int:
    return int((rubles.quantize(KOPECK, rounding=ROUND_HALF_UP) * 100).to_integral_value())


def price_matches(rubles: Decimal, vk_amount: Any) -> bool:
    """Whether VK's `price.amount` (a string of kopecks, read back) is the price we sent."""
    if isinstance(vk_amount, bool):
        return False
    if isinstance(vk_amount, int):
        return vk_amount == to_kopecks(rubles)
    if not isinstance(vk_amount, str) or not vk_amount.strip().lstrip("-").isdigit():
        return False
    return int(vk_amount.strip()) == to_kopecks(rubles)


def stock_amount(quantity: Decimal | None) -> int | None:
    """Evotor's quantity (fractional for weight goods, maybe negative) as VK's whole stock."""
    if quantity is None:
        return None
    whole = int(quantity.to_integral_value(rounding=ROUND_FLOOR))
    return max(0, min(whole, STOCK_MAX))


def format_price(rubles: Decimal) -> str:
    """A price for people: `1 234,50 ₽`."""
    rubles = rubles.quantize(KOPECK, rounding=ROUND_HALF_UP)
    whole, _, fraction = format(rubles, "f").partition(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    groups: list[str] = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    return f"{sign}{' '.join(groups) or '0'},{fraction or '00'} ₽"


# ---------------------------------------------------------------------------------------------
# text

def vk_length(text: str) -> int:
    """Characters as VK counts them: cp1251 characters count one, others as their `&#N;` entity."""
    total = 0
    for char in text:
        try:
            char.encode("cp1251")
        except UnicodeEncodeError:
            total += len(f"&#{ord(char)};")
        else:
            total += 1
    return total


def cut_to(text: str, limit: int) -> str:
    """`text` cut to at most `limit` VK characters, on a word boundary when one is near, with `…`."""
    if vk_length(text) <= limit:
        return text
    budget = limit - 1  # room for the ellipsis
    out, used = [], 0
    for char in text:
        cost = vk_length(char)
        if used + cost > budget:
            break
        out.append(char)
        used += cost
    kept = "".join(out)
    # Prefer the last word boundary when it keeps at least two thirds of the room.
    boundary = kept.rstrip().rfind(" ")
    if boundary >= budget * 2 // 3:
        kept = kept[:boundary]
    return kept.rstrip(" ,;:-–—(") + ELLIPSIS


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_TLDS = (
    "ru|su|com|net|org|info|biz|pro|io|me|by|kz|ua|uz|am|ge|kg|tj|cc|co|ly|app|dev|xyz|club|"
    "online|site|shop|store|tech|space|website|link|page|рф|рус"
)
LINK = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.)\S+"  # anything that starts like a URL
    r"|(?:[\w.+-]+@)?"  # an e-mail address goes with its domain
    rf"\b(?:[a-zа-яё0-9](?:[a-zа-яё0-9-]*[a-zа-яё0-9])?\.)+(?:{_TLDS})\b(?:/\S*)?",  # bare domains
    re.IGNORECASE,
)


def has_link(text: str) -> bool:
    return LINK.search(text) is not None


def remove_links(text: str) -> str:
    return LINK.sub("", text)


def clean_line(text: str) -> str:
    """One line of plain text: control characters dropped, whitespace runs collapsed."""
    return _SPACES.sub(" ", _CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " "))).strip()


def clean_block(text: str) -> str:
    """Multi-line text: lines cleaned, at most one empty line in a row, trimmed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", _CONTROL.sub(" ", line)).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def template_problems(template: str) -> list[str]:
    """What is wrong with a description template (Russian, for the configuration page)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        return ["Шаблон описания: непарная фигурная скобка (для самой скобки пишите {{ или }})"]
    problems: list[str] = []
    allowed = ", ".join("{" + name + "}" for name in TEMPLATE_FIELDS)
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS or spec or conversion:
            shown = "{" + name + (("!" + conversion) if conversion else "") + ((":" + spec) if spec else "") + "}"
            problems.append(f"Шаблон описания: неизвестная подстановка {shown}; можно {allowed}")
    if not template.strip():
        problems.append("Шаблон описания пуст")
    return problems


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Fill a template checked by `template_problems`; only the plain `{name}` fields are read."""
    out: list[str] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, ""))
    return "".join(out)


def policy_problems(policy: MappingPolicy) -> list[str]:
    problems = template_problems(policy.template)
    multiplier = policy.multiplier
    if not isinstance(multiplier, Decimal) or not multiplier.is_finite() or multiplier <= 0:
        problems.append("Множитель цены должен быть положительным числом")
    elif multiplier.normalize().as_tuple().exponent < -2:  # type: ignore[operator]
        problems.append("Множитель цены: не больше двух знаков после запятой")
    if policy.category_id is not None and policy.category_id < 0:
        problems.append("Категория ВКонтакте не выбрана")
    return problems


# ---------------------------------------------------------------------------------------------
# the mapping

def item_name(facts: ProductFacts) -> str:
    """The VK title: the Evotor name (with a modification's choices), 4–100 VK characters."""
    base = clean_line(facts.name)
    choices = [clean_line(choice) for choice in facts.choices if clean_line(choice)]
    suffix = f" ({', '.join(choices)})" if choices else ""
    if not base:
        base = f"Товар {facts.id[:8]}"
    if vk_length(base + suffix) > NAME_MAX:
        if vk_length(suffix) <= NAME_MAX // 2:
            base = cut_to(base, NAME_MAX - vk_length(suffix))
        else:
            base, suffix = cut_to(base + suffix, NAME_MAX), ""
    name = base + suffix
    if vk_length(name) < NAME_MIN:
        measure = clean_line(facts.measure)
        name = f"{name} ({measure})" if measure else f"Товар {name}"
    return name


def item_description(facts: ProductFacts, policy: MappingPolicy, name: str, price: Decimal) -> str:
    values = {
        "name": name,
        "measure": clean_line(facts.measure),
        "article": clean_line(facts.article or ""),
        "description": clean_block(facts.description or ""),
        "price": format_price(price),
    }
    text = clean_block(remove_links(render_template(policy.template, values)))
    if len(text) < DESCRIPTION_MIN:  # the default template, or name and price without a measure
        fallback = DEFAULT_TEMPLATE if values["measure"] else "{name}. Цена: {price}"
        text = clean_block(remove_links(render_template(fallback, values)))
    return text


def fingerprint(item: VkItem) -> str:
    """A stable hash of everything that would be published (not the VK ids)."""
    canonical = json.dumps(
        {
            "v": FINGERPRINT_VERSION,
            "sku": item.sku,
            "name": item.name,
            "description": item.description,
            "price": format(item.price, "f"),
            "hidden": item.hidden,
            "stock_amount": item.stock_amount,
            "category_id": item.category_id,
            "image": item.image,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def map_product(facts: ProductFacts, policy: MappingPolicy) -> VkItem | Skipped:
    """What one Evotor product (or modification) becomes on VK under the configured policies."""
    if len(facts.id) > SKU_MAX:
        return Skipped(facts.id, SkipReason.ID_TOO_LONG)
    if facts.price is not None and facts.price < 0:
        return Skipped(facts.id, SkipReason.NEGATIVE_PRICE)
    price = vk_price(facts.price, policy.multiplier)
    if price > PRICE_MAX:
        return Skipped(facts.id, SkipReason.PRICE_TOO_HIGH)
    if price == 0 and policy.zero_price is ZeroPrice.SKIP:
        return Skipped(facts.id, SkipReason.ZERO_PRICE)
    name = item_name(facts)
    item = VkItem(
        sku=facts.id,
        name=name,
        description=item_description(facts, policy, name, price),
        price=price,
        hidden=not facts.allow_to_sell and policy.not_for_sale is NotForSale.HIDE,
        stock_amount=stock_amount(facts.quantity) if policy.stock else None,
        category_id=policy.category_id,
        image=facts.image,
    )
    return _with_fingerprint(item)


def with_image(item: VkItem, image: str) -> VkItem:
    """The mapped item with its image (by key), fingerprinted again: a product is mapped once."""
    return _with_fingerprint(dataclasses.replace(item, image=image))


def _with_fingerprint(item: VkItem) -> VkItem:
    return dataclasses.replace(item, fingerprint=fingerprint(item))


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None
