"""The catalog table as an Excel-friendly CSV (a Russian locale, formula cells neutralised by
`connhub.export`), and its file name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

from connhub.catalog.table import cell_money, cell_text, type_name
from connhub.export import excel_csv

CSV_HEADER = ("Название", "Код", "Артикул", "Штрихкоды", "Группа", "Тип", "Цена, ₽", "Себестоимость, ₽",
              "Остаток", "Ед. изм.", "Продаётся", "В выгрузке", "Причина", "Описание", "Изменён", "ID")


def csv_rows(rows: pd.DataFrame, type_names: Mapping[str, str] | None = None) -> Iterable[Sequence[Any]]:
    names = type_names or {}
    columns = ["name", "code", "article", "barcodes", "group_name", "type", "price_k", "cost_k", "quantity_k",
               "measure", "allow_to_sell", "in_sync", "reason", "description", "updated_at", "id"]
    for (name, code, article, barcodes, group, kind, price, cost, quantity, measure, for_sale, in_sync, reason,
         description, updated, pid) in rows[columns].itertuples(index=False, name=None):
        yield (name, cell_text(code), cell_text(article), ", ".join(barcodes), cell_text(group),
               type_name(kind, names) or None, cell_money(price), cell_money(cost), cell_money(quantity),
               cell_text(measure), None if for_sale is pd.NA else bool(for_sale), bool(in_sync), reason,
               cell_text(description), _when(updated), pid)


def _when(value: Any) -> datetime | None:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def csv_bytes(rows: pd.DataFrame, type_names: Mapping[str, str] | None = None) -> bytes:
    """The table (the rows `select_rows` gave) as an Excel-friendly CSV; types by name."""
    return excel_csv(CSV_HEADER, csv_rows(rows, type_names))


def export_csv(rows: pd.DataFrame, store_name: str, day: date,
               type_names: Mapping[str, str] | None = None) -> tuple[str, bytes]:
    """The table as an Excel-friendly CSV, and a file name carrying the store and the date."""
    return csv_filename(store_name, day), csv_bytes(rows, type_names)


def csv_filename(store_name: str, day: date) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in store_name).strip("_") or "store"
    return f"catalog_{safe[:60]}_{day.isoformat()}.csv"
