from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest

from connhub.export import excel_csv, neutralise


def _read(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to decode UTF-8"
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8")), delimiter=";"))


@pytest.mark.parametrize("text", ["=HYPERLINK(\"x\")", "+7 999", "-1+2", "@SUM(A1)", "\t=1"])
def test_text_that_a_spreadsheet_would_evaluate_is_neutralised(text):
    assert neutralise(text) == "'" + text


def test_ordinary_text_is_left_as_it_is():
    assert neutralise("Молоко 3,2%") == "Молоко 3,2%"


def test_a_file_has_bom_semicolons_a_russian_header_and_one_line_per_row():
    data = excel_csv(["Название", "Цена"], [["Хлеб", Decimal("45.50")], ["Сыр; твёрдый", Decimal("0")]])
    assert _read(data) == [["Название", "Цена"], ["Хлеб", "45,50"], ["Сыр; твёрдый", "0"]]
    assert data.count(b"\r\n") == 3


def test_numbers_stay_numbers_and_negative_numbers_are_not_neutralised():
    rows = _read(excel_csv(["a", "b", "c"], [[Decimal("-1.5"), -3, 2.25]]))
    assert rows[1] == ["-1,5", "-3", "2,25"]


def test_text_cells_and_header_cells_that_look_like_formulas_are_neutralised():
    rows = _read(excel_csv(["=cmd"], [["=1+1"], ["-abc"]]))
    assert rows == [["'=cmd"], ["'=1+1"], ["'-abc"]]


def test_empty_booleans_and_timestamps_are_written_plainly():
    rows = _read(excel_csv(["a", "b", "c"], [[None, True, datetime(2026, 12, 2, 3, 4, 5)]]))
    assert rows[1] == ["", "да", "2026-12-02 03:04:05"]
