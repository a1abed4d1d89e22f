"""The description template's conditional blocks (`{article:Артикул: {article}}`) and its help."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from connhub.sync.mapping import MappingPolicy, ProductFacts, VkItem, map_product, template_problems
from connhub.sync.policies import PLACEHOLDERS

TEMPLATE = "{name}. {article:Артикул: {article}. }Цена {price}"


def described(template: str, **changes: object) -> str:
    base: dict[str, object] = dict(id="p-1", name="Сидр", measure="шт", article="СДР-1", description=None,
                                   price=D("4753.63"))
    base.update(changes)
    item = map_product(ProductFacts(**base), MappingPolicy(template=template))  # type: ignore[arg-type]
    assert isinstance(item, VkItem), item
    return item.description


def test_a_block_is_written_when_its_field_is_filled():
    assert described(TEMPLATE) == "Сидр. Артикул: СДР-1. Цена 4 753,63 ₽"


@pytest.mark.parametrize("article", [None, "", "   "])
def test_a_block_whose_field_is_empty_drops_out_with_its_text(article):
    assert described(TEMPLATE, article=article) == "Сидр. Цена 4 753,63 ₽"


def test_a_block_may_name_other_fields_and_braces_stay_escapable():
    template = "{description:{description} — {name}. }{{{price}}}"
    assert described(template, description="Яблочный сидр") == "Яблочный сидр — Сидр. {4 753,63 ₽}"
    assert described(template) == "{4 753,63 ₽}"


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{article:Артикул}", "{article:Артикул}"),  # a block that does not name its field
        ("{colour:Цвет {colour}}", "{colour}"),
        ("{article:Артикул: {article}", "непарная"),
        ("{article:a {name:b {name}}}", "{name:b"),  # blocks do not nest
    ],
    ids=["block-without-its-field", "unknown-block", "unclosed-block", "nested-block"],
)
def test_bad_blocks_are_refused_with_a_message(template, problem):
    problems = template_problems(template)
    assert any(problem in message for message in problems), problems
    with pytest.raises(ValueError):
        MappingPolicy(template=template)


def test_the_help_says_price_already_carries_the_rouble_sign():
    assert "₽" in PLACEHOLDERS["price"] and "не нужен" in PLACEHOLDERS["price"]
    assert described("{name}: {price}") == "Сидр: 4 753,63 ₽"
