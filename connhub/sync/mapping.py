"""Evotor product facts → the fields of a VK goods item: a pure function, no I/O.

What VK accepts (docs/vk-goods.md, «Fields and limits»):
- `name` 4–100 characters, counted as VK counts them: VK keeps text in cp1251, so a character
  outside cp1251 (an emoji, a rare letter) is stored as an HTML entity `&#NNNN;` and counts as
  that many characters (`vk_length`). How VK counts those exactly is not documented; counting
  the entity is the cautious reading, and the sandbox counts the same way.
- `description` at least 10 characters, required, and with no links (VK refuses them).
- `price` in rubles with two decimals going in; read back, `price.amount` is in kopecks. Prices
  are `Decimal` all the way and never pass through a float.
- `sku` at most 50 characters: the Evotor product id (a 36-character UUID) goes there, so an
  interrupted run can find its item again.
- `stock_amount` an integer from -1 to 999999.

`map_product` returns either a `VkItem` (publish it, possibly hidden) or a `Skipped` (keep it off
VK, with the reason); `VkItem.fingerprint` is a stable hash of everything that would be
published, so an unchanged product costs no write call.

The number and text rules the fields are made of live in `item_text.py` (re-exported here).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from connhub.sync import template as description_template
from connhub.sync.item_text import (
    ELLIPSIS,
    KOPECK,
    LINK,
    STOCK_MAX,
    clean_block,
    clean_line,
    cut_to,
    format_price,
    has_link,
    remove_links,
    stock_amount,
    to_decimal,
    to_kopecks,
    vk_length,
    vk_price,
)

NAME_MIN = 4
NAME_MAX = 100
DESCRIPTION_MIN = 10
SKU_MAX = 50
PRICE_MAX = Decimal("999999999999")

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
    modification_of: Modifications | None = None  # its modification group, for a modification


@dataclass(frozen=True)
class Modifications:
    """A modification group as its modifications' facts name it: the group's id and name and the
    names of its attributes in order (a modification's `choices` follow the same order)."""

    group_id: str
    name: str
    attributes: tuple[str, ...]

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
    variant_ids: tuple[int, ...] = ()  # the target's variant of each attribute (modifications as variants)
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
        if self.variant_ids:
            out["variant_ids"] = ",".join(str(v) for v in self.variant_ids)
        return out


@dataclass(frozen=True)
class Skipped:
    product_id: str
    reason: SkipReason

    @property
    def message(self) -> str:
        return SKIP_MESSAGES[self.reason]


def template_problems(template: str) -> list[str]:
    """What is wrong with a description template (Russian, for the configuration page)."""
    return description_template.problems(template, TEMPLATE_FIELDS)


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Fill a template checked by `template_problems` (a `{field:…}` block drops out when the field is empty)."""
    return description_template.render(template, values, TEMPLATE_FIELDS)


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
    variants = {"variant_ids": list(item.variant_ids)} if item.variant_ids else {}  # earlier hashes unchanged
    canonical = json.dumps(
        {
            **variants,
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


def as_variant(item: VkItem, facts: ProductFacts, variant_ids: tuple[int, ...]) -> VkItem:
    """The mapped modification as one variant of its group's product: the group's name for a title
    (no choices in it) and the variant of each of its choices, fingerprinted again."""
    group = facts.modification_of
    name = item_name(dataclasses.replace(facts, name=group.name if group is not None else facts.name, choices=()))
    return _with_fingerprint(dataclasses.replace(item, name=name, variant_ids=variant_ids))


def _with_fingerprint(item: VkItem) -> VkItem:
    return dataclasses.replace(item, fingerprint=fingerprint(item))


__all__ = [  # the text and number rules, re-exported for the modules and tests that import them here
    "ELLIPSIS", "KOPECK", "LINK", "STOCK_MAX", "clean_block", "clean_line", "cut_to", "format_price", "has_link",
    "remove_links", "stock_amount", "to_decimal", "to_kopecks", "vk_length", "vk_price",
]
