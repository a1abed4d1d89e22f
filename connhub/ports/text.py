"""Provider text made safe to store, log and show: one printable line cut to a length, and an
error code kept to a short tag of safe characters (see `connhub.providers.text` for accounts)."""

from __future__ import annotations

import re
import unicodedata

REASON_MAX = 300  # what a card shows as the reason (check_records.reason holds 500)
CODE_MAX = 40

_SPACES = re.compile(r"\s+")
_CODE_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]+")


def clean(value: object, limit: int) -> str:
    """One line of printable text of at most `limit` characters ("…" marks a cut)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit * 4:  # do not scan megabytes to keep a few hundred characters
        text = text[: limit * 4]
    if text.isprintable():  # nothing to drop, and no whitespace but the plain space
        if "  " in text:
            text = _SPACES.sub(" ", text)
        text = text.strip()
    else:
        text = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
                       for ch in text if unicodedata.category(ch) not in ("Cf", "Cs", "Co", "Cn") or ch == "\n")
        text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def code(value: object) -> str:
    """A provider's error code as a short tag of letters, digits and `_.:-`."""
    return _CODE_UNSAFE.sub("_", str(value))[:CODE_MAX].strip("_") or "unknown"
