"""Numbers and words as a Russian reader expects them (connhub.text)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connhub.text import counted, duration, milliseconds, money, number, plural

NB = "\u00a0"


@pytest.mark.parametrize(("count", "word"), [(1, "исключена"), (2, "исключены"), (4, "исключены"), (5, "исключено"),
                                             (11, "исключено"), (12, "исключено"), (21, "исключена"),
                                             (22, "исключены"), (111, "исключено"), (0, "исключено")])
def test_plural(count: int, word: str) -> None:
    assert plural(count, "исключена", "исключены", "исключено") == word


def test_counted() -> None:
    assert counted(3, "товар", "товара", "товаров") == "3 товара"


def test_money_has_two_decimals_a_comma_and_grouped_thousands() -> None:
    assert money(3802.9) == f"3{NB}802,90"
    assert money(Decimal("701.4")) == "701,40"
    assert money(1234567) == f"1{NB}234{NB}567,00"
    assert money(-5.005) == "\u22125,01"
    assert money(None) == "" and money(None, empty="—") == "—"
    assert money(float("nan")) == ""


def test_number_keeps_what_matters() -> None:
    assert number(1.5) == "1,5"
    assert number(12.0) == "12"
    assert number(Decimal("0.125")) == "0,125"
    assert number(None) == ""
    assert number(True) == ""


@pytest.mark.parametrize(("seconds", "text"), [(0.42, "0,4 с"), (4.26, "4,3 с"), (12.4, "12 с"), (150.1, "2 мин 30 с"),
                                               (120, "2 мин"), (3725, "1 ч 2 мин"), (None, "—"), (-1, "—")])
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_milliseconds() -> None:
    assert milliseconds(None) == "—"
    assert milliseconds(1234.4) == f"1{NB}234"
