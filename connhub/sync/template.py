"""The description template: `{field}` fills in a product field, and `{field:text}` is a block kept
only when the field is not empty for the product (`{article:Артикул: {article}}` writes nothing for
a product without an article). `{{` and `}}` are the braces themselves. Blocks do not nest; a
block's text names its own field (`{price:.2f}` is refused, as any format spec is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

UNBALANCED = "Шаблон описания: непарная фигурная скобка (для самой скобки пишите {{ или }})"


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Block:
    name: str
    parts: tuple[str | Field, ...]
    source: str  # as written, for messages


Part = str | Field | Block


class TemplateError(ValueError):
    pass


def parse(template: str, fields: Sequence[str]) -> list[Part]:
    """The template's parts; `TemplateError` with a Russian message on the first problem."""
    parts, end = _parse(template, 0, fields, inside=False)
    assert end == len(template)
    return parts


def _parse(text: str, at: int, fields: Sequence[str], *, inside: bool) -> tuple[list[Part], int]:
    parts: list[Part] = []
    literal: list[str] = []
    while at < len(text):
        char = text[at]
        if text.startswith("{{", at) or text.startswith("}}", at):
            literal.append(char)
            at += 2
        elif char == "}":
            if inside:
                break
            raise TemplateError(UNBALANCED)
        elif char == "{":
            if literal:
                parts.append("".join(literal))
                literal = []
            part, at = _placeholder(text, at, fields, inside=inside)
            parts.append(part)
        else:
            literal.append(char)
            at += 1
    if literal:
        parts.append("".join(literal))
    return parts, at


def _placeholder(text: str, start: int, fields: Sequence[str], *, inside: bool) -> tuple[Part, int]:
    at = start + 1
    while at < len(text) and text[at] not in "}:{":
        at += 1
    if at >= len(text) or text[at] == "{":
        raise TemplateError(UNBALANCED)
    name = text[start + 1:at]
    if text[at] == "}":
        if name not in fields:
            raise TemplateError(_unknown(text[start:at + 1], fields))
        return Field(name), at + 1
    inner, end = _parse(text, at + 1, fields, inside=True) if not inside else ([], at)
    if inside or end >= len(text):
        raise TemplateError(UNBALANCED if end >= len(text) else _unknown(_rest(text, start), fields))
    source = text[start:end + 1]
    if name not in fields or Field(name) not in inner:
        raise TemplateError(_unknown(source, fields))
    return Block(name, tuple(p for p in inner if isinstance(p, str | Field)), source), end + 1


def _rest(text: str, start: int) -> str:
    close = text.find("}", start)
    return text[start:close + 1] if close >= 0 else text[start:]


def _unknown(shown: str, fields: Sequence[str]) -> str:
    allowed = ", ".join("{" + name + "}" for name in fields)
    return f"Шаблон описания: неизвестная подстановка {shown}; можно {allowed} и {{поле:текст с {{поле}}}}"


def problems(template: str, fields: Sequence[str]) -> list[str]:
    """What is wrong with a template (Russian, for the configuration page)."""
    found: list[str] = []
    try:
        parse(template, fields)
    except TemplateError as error:
        found.append(str(error))
    if not template.strip():
        found.append("Шаблон описания пуст")
    return found


def render(template: str, values: Mapping[str, str], fields: Sequence[str]) -> str:
    """Fill a template checked by `problems`: a block whose field is empty drops out whole."""
    out: list[str] = []
    for part in parse(template, fields):
        if isinstance(part, Block):
            if values.get(part.name, "").strip():
                out.extend(_fill(p, values) for p in part.parts)
        else:
            out.append(_fill(part, values))
    return "".join(out)


def _fill(part: str | Field, values: Mapping[str, str]) -> str:
    return values.get(part.name, "") if isinstance(part, Field) else part


def block_fields(template: str, fields: Sequence[str]) -> list[str]:
    """The fields the template's blocks depend on, in order (none for a template with problems)."""
    try:
        return [part.name for part in parse(template, fields) if isinstance(part, Block)]
    except TemplateError:
        return []
