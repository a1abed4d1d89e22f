"""Numbers and words as a Russian reader expects them: plurals, decimal commas, money, durations.

Pure functions (no Streamlit): the pages, the CLI and the CSV export all use them, so a price or a
count reads the same everywhere.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

EMPTY = "—"
NBSP = "\u00a0"  # groups thousands: «3 802,90» never breaks across lines
MINUS = "\u2212"  # a typographic minus: reads right, and no spreadsheet takes «−5» for a formula


def plural(count: int, one: str, few: str, many: str) -> str:
    """The word for `count`: plural(1, "товар", "товара", "товаров") → «товар»; 2 → «товара»; 5 → «товаров»."""
    n = abs(int(count))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return few
    return many


def counted(count: int, one: str, few: str, many: str) -> str:
    """«1 товар», «3 товара», «5 товаров»."""
    return f"{count} {plural(count, one, few, many)}"


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _grouped(number: Decimal, places: int | None) -> str:
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = MINUS if number < 0 else ""
    text = format(abs(number), "f")
    whole, _, fraction = text.partition(".")
    if places is None:
        fraction = fraction.rstrip("0")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    out = NBSP.join(groups)
    return sign + out + ("," + fraction if fraction else "")


def number(value: object, *, empty: str = "") -> str:
    """A quantity with a decimal comma and no trailing zeros: 1.5 → «1,5», 1250 → «1 250»; None → `empty`."""
    found = _decimal(value)
    return empty if found is None else _grouped(found, None)


def money(value: object, *, empty: str = "") -> str:
    """A price with two decimals: 3802.9 → «3 802,90»; None → `empty`."""
    found = _decimal(value)
    return empty if found is None else _grouped(found, 2)


def decimal_comma(value: object) -> str:
    """A number as written (no grouping), with a decimal comma: «1,25»."""
    return str(value).replace(".", ",")


def duration(seconds: float | None, *, empty: str = EMPTY) -> str:
    """«0,4 с», «12 с», «2 мин 30 с», «1 ч 5 мин»."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return empty
    if seconds < 10:
        return f"{_grouped(Decimal(str(round(seconds, 1))), None)} с"
    total = int(round(seconds))
    if total < 60:
        return f"{total} с"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} ч {minutes} мин" if minutes else f"{hours} ч"
    return f"{minutes} мин {secs} с" if secs else f"{minutes} мин"


def milliseconds(value: object, *, empty: str = EMPTY) -> str:
    """A latency in milliseconds as a whole number, or `empty`."""
    found = _decimal(value)
    return empty if found is None else _grouped(found, 0)
