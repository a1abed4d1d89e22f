"""Trusted markup and escaped text, told apart by type (the way MarkupSafe's `Markup` does for HTML).

Streamlit renders Markdown (plus its own `:color[…]`, `:…-badge[…]` and `:material/…:` directives)
in `st.markdown`, `st.caption`, alerts, toasts and many labels. The app's own markup is `Markup`;
anything else — a provider's name, a user's template, an error message — is escaped where it
enters the markup:

    Markup(":green-badge[{}] **{}**").format(label, name)

escapes `label` and `name` unless they are `Markup` themselves. `Markup + str`, `"…".join` through
`Markup.join` and `%`-free formatting all escape the non-Markup side. `escape(text)` is the one
way to turn outside text into Markup. No Streamlit import: the type is tested on its own.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, SupportsIndex

_WHITESPACE = re.compile(r"[^\S\u00a0\u202f]+")  # no-break spaces stay: «3 802,90» never breaks
COLON = "&#58;"
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$=&])")


class Markup(str):
    """A string of the app's own Markdown, safe to render as is."""

    __slots__ = ()

    def __new__(cls, base: object = "") -> Markup:
        return super().__new__(cls, base)

    def __add__(self, other: str) -> Markup:
        return Markup(str.__add__(self, _escaped(other)))

    def __radd__(self, other: str) -> Markup:
        return Markup(str.__add__(_escaped(other), self))

    def __mul__(self, count: SupportsIndex) -> Markup:
        return Markup(str.__mul__(self, count))

    def join(self, parts: Iterable[str]) -> Markup:
        return Markup(str.join(self, (_escaped(part) for part in parts)))

    def format(self, *args: object, **kwargs: object) -> Markup:
        return Markup(_FORMATTER.vformat(self, args, kwargs))

    def format_map(self, mapping: Mapping[str, Any]) -> Markup:  # type: ignore[override]
        return Markup(_FORMATTER.vformat(self, (), mapping))

    def __repr__(self) -> str:
        return f"Markup({str.__repr__(self)})"


class _EscapingFormatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Markup):
            return value if not format_spec else Markup(format(str(value), format_spec))
        return _escaped(format(value, format_spec) if format_spec else value)

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        return super().get_value(key, args, kwargs)


_FORMATTER = _EscapingFormatter()


def escape(value: object) -> Markup:
    """Outside text as Markup that renders exactly as written (Markup is returned unchanged).

    Newlines and runs of spaces collapse into one space first, so the text cannot open a paragraph,
    a list or an indented code block of its own; every character Streamlit's Markdown or its
    directives give a meaning to is backslash-escaped."""
    if isinstance(value, Markup):
        return value
    return _escaped(str(value).strip())


def _escaped(value: object) -> Markup:
    """`escape` without the trim: spaces around a piece joined into a line are the line's own."""
    if isinstance(value, Markup):
        return value
    escaped = _SPECIAL.sub(r"\\\1", _WHITESPACE.sub(" ", str(value)))
    # A backslash does not stop Streamlit's `:material/…:` icons and `:emoji:` short codes (they are
    # found in the source before Markdown runs); a character reference does, and renders as ":".
    return Markup(escaped.replace("\\:", COLON))


def lines(parts: Iterable[str], *, bullet: bool = False) -> Markup:
    """Several escaped lines as one Markdown block (a list when `bullet`)."""
    if bullet:
        return Markup("\n").join(Markup("- {}").format(part) for part in parts)
    return Markup("\n\n").join(escape(part) for part in parts)
