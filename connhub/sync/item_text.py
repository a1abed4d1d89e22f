"""The number and text rules an item's fields are made of (`mapping.py` uses them; docs/vk-goods.md,
«Fields and limits»): exact decimal prices, VK's way of counting characters, cutting, links."""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

STOCK_MAX = 999_999
KOPECK = Decimal("0.01")
ELLIPSIS = "…"  # in cp1251 (0x85), so it counts as one character


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
