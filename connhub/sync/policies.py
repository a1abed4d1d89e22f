"""The sync's policies: what happens on VK to products that leave the selection, are not for sale
or cost nothing, the price multiplier and the description template; their labels for the page
and their parsing, each problem a Russian message.

The template's placeholders and what counts as a link are the mapping's (`connhub.sync.mapping`),
the one definition the engine renders with.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from connhub.sync import mapping

DEFAULT_TEMPLATE = mapping.DEFAULT_TEMPLATE
# The product fields a description template may name (the mapping's list), with what each means.
PLACEHOLDER_HELP: dict[str, str] = {
    "name": "название товара",
    "measure": "единица измерения",
    "article": "артикул",
    "description": "описание из Эвотор",
    "price": "цена с множителем, уже со знаком «₽» (например «1 234,50 ₽»): свой «₽» после неё не нужен",
}
PLACEHOLDERS: dict[str, str] = {name: PLACEHOLDER_HELP.get(name, name) for name in mapping.TEMPLATE_FIELDS}
TEMPLATE_MAX_LENGTH = 1000
MULTIPLIER_MAX = Decimal("1000")
CENT = Decimal("0.01")



class RemovedPolicy(StrEnum):
    """What happens on VK to an item whose product left the selection or was deleted in Evotor."""

    HIDE = "hide"  # market.edit deleted=1: reversible
    DELETE = "delete"  # market.delete


# Not for sale (hide|publish) and zero price (skip|publish) are the mapping's own enums.
NotForSalePolicy = mapping.NotForSale
ZeroPricePolicy = mapping.ZeroPrice

REMOVED_LABELS = {RemovedPolicy.HIDE: "скрывать", RemovedPolicy.DELETE: "удалять"}
NOT_FOR_SALE_LABELS = {NotForSalePolicy.HIDE: "скрывать", NotForSalePolicy.PUBLISH: "всё равно публиковать"}
ZERO_PRICE_LABELS = {ZeroPricePolicy.SKIP: "не выгружать", ZeroPricePolicy.PUBLISH: "публиковать"}


@dataclass(frozen=True)
class Policies:
    on_removed: RemovedPolicy = RemovedPolicy.HIDE
    on_not_for_sale: NotForSalePolicy = NotForSalePolicy.HIDE
    on_zero_price: ZeroPricePolicy = ZeroPricePolicy.SKIP
    price_multiplier: Decimal = Decimal("1.00")
    description_template: str = DEFAULT_TEMPLATE

    def as_dict(self) -> dict[str, str]:
        """Plain strings, as read_config prints them and snapshots keep them (exact decimals)."""
        return {
            "on_removed": self.on_removed.value,
            "on_not_for_sale": self.on_not_for_sale.value,
            "on_zero_price": self.on_zero_price.value,
            "price_multiplier": format_multiplier(self.price_multiplier),
            "description_template": self.description_template,
        }


def format_multiplier(value: Decimal) -> str:
    return str(value.quantize(CENT))


def parse_multiplier(raw: object) -> Decimal:
    """A positive price multiplier with at most two decimals; a comma is a decimal point too."""
    text = str(raw if raw is not None else "").strip().replace(",", ".").replace(" ", "")
    if not text:
        raise ValueError("Укажите множитель цены, например 1 или 1,15")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"Множитель цены должен быть числом, например 1 или 1,15 (введено «{raw}»)") from None
    if not value.is_finite():
        raise ValueError("Множитель цены должен быть числом, например 1 или 1,15")
    if value <= 0:
        raise ValueError("Множитель цены должен быть больше нуля")
    if value != value.quantize(CENT):
        raise ValueError("Множитель цены — не больше двух знаков после запятой, например 1,15")
    if value > MULTIPLIER_MAX:
        raise ValueError(f"Множитель цены не может быть больше {MULTIPLIER_MAX}")
    return value.quantize(CENT)


def find_link(text: str) -> str | None:
    """A link as VK sees one in a description (error 1408), by the mapping's definition."""
    match = mapping.LINK.search(text)
    return match[0] if match else None


def parse_template(raw: object) -> str:
    """A description template: only the mapping's placeholders, no links, within the length limit."""
    template = str(raw if raw is not None else "").strip()
    if not template:
        raise ValueError(f"Шаблон описания не может быть пустым. Пример: {DEFAULT_TEMPLATE}")
    if len(template) > TEMPLATE_MAX_LENGTH:
        raise ValueError(f"Шаблон описания длиннее {TEMPLATE_MAX_LENGTH} символов ({len(template)})")
    problems = mapping.template_problems(template)
    if problems:
        raise ValueError("; ".join(problems))
    literal = " ".join(text for text, _name, _spec, _conv in string.Formatter().parse(template))
    link = find_link(literal)
    if link:
        raise ValueError(f"В шаблоне ссылка «{link}»: ВКонтакте не принимает ссылки в описании товара")
    return template


def plural(count: int, one: str, few: str, many: str) -> str:
    tail = count % 100
    if 11 <= tail <= 14:
        return many
    last = count % 10
    if last == 1:
        return one
    if 2 <= last <= 4:
        return few
    return many
