"""Tables offered for download: CSV that Excel opens correctly in a Russian locale.

Excel in a Russian locale splits columns on `;`, reads a decimal comma, and needs a UTF-8 BOM to
decode Cyrillic. A text cell that begins with `=`, `+`, `-` or `@` would be evaluated as a
formula when the file is opened, so such cells are prefixed with an apostrophe; numbers (negative
ones included) stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

FORMULA_PREFIXES = ("=", "+", "-", "@")
_FORMULA_INNER = ("\t", "\r")

Cell = str | int | float | Decimal | bool | date | datetime | None


def neutralise(value: str) -> str:
    """A text cell that a spreadsheet cannot read as a formula."""
    if value.startswith(FORMULA_PREFIXES) or value.startswith(_FORMULA_INNER):
        return "'" + value
    return value


def _format(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    if isinstance(value, float):
        return repr(value).replace(".", ",")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


def excel_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """UTF-8 with BOM, `;`-separated, decimal comma, neutralised text cells, CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([neutralise(name) for name in header])
    for row in rows:
        writer.writerow([_format(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
