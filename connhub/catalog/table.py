"""The catalog table: every product's decision (through `connhub.catalog.rules`), the summary, the
filtered rows and how the table shows them, and the group tree with its counts in the sync."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from connhub.catalog.rules import Decision, Rule, RuleSet
from connhub.catalog.snapshot import GroupNode, StoreCatalog
from connhub.models import from_thousandths
from connhub.text import money, number

SNAPSHOT_CACHE_SIZE = 8

_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Evaluation:
    """Every product's decision, aligned with `catalog.products`."""

    ruleset: RuleSet
    included: pd.Series
    reason: pd.Series


# Each entry holds its catalog, so the catalog's id() in the key cannot be reused while it is cached.
_evaluations: OrderedDict[tuple[int, tuple[Rule, ...]], tuple[StoreCatalog, Evaluation]] = OrderedDict()


def evaluate(catalog: StoreCatalog, rules: Iterable[Rule]) -> Evaluation:
    """Every product's decision; remembered for the same catalog and rules (a search rerun)."""
    key = (id(catalog), tuple(rules))
    with _cache_lock:
        found = _evaluations.get(key)
        if found is not None and found[0] is catalog:
            _evaluations.move_to_end(key)
            return found[1]
    evaluation = _evaluate(catalog, key[1])
    with _cache_lock:
        _evaluations[key] = (catalog, evaluation)
        while len(_evaluations) > SNAPSHOT_CACHE_SIZE * 4:
            _evaluations.popitem(last=False)
    return evaluation


def _evaluate(catalog: StoreCatalog, rules: tuple[Rule, ...]) -> Evaluation:
    ruleset = RuleSet(rules, store_id=catalog.store_id, group_parents=catalog.group_parents,
                      group_names=catalog.group_names)
    frame = catalog.products
    decisions: list[Decision] = ruleset.decide_all(frame["id"].tolist(), frame["group_id"].tolist())
    return Evaluation(ruleset,
                      pd.Series([d.included for d in decisions], index=frame.index, dtype=bool),
                      pd.Series([d.reason for d in decisions], index=frame.index, dtype=object))


@dataclass(frozen=True)
class Summary:
    in_sync: int
    total: int
    groups: int  # groups with at least one product in the sync in them or below them

    def text(self) -> str:
        goods = "товара" if self.total % 10 == 1 and self.total % 100 != 11 else "товаров"
        return f"В выгрузке: {self.in_sync} из {self.total} {goods}, {self.groups} {_groups_word(self.groups)}"


def _groups_word(count: int) -> str:
    if count % 10 == 1 and count % 100 != 11:
        return "группа"
    if count % 10 in (2, 3, 4) and count % 100 not in (12, 13, 14):
        return "группы"
    return "групп"


def summary(catalog: StoreCatalog, evaluation: Evaluation) -> Summary:
    included = catalog.products.loc[evaluation.included.to_numpy()]
    groups: set[str] = set()
    for group_id in included["group_id"].dropna().unique():
        current: str | None = str(group_id)
        while current is not None and current in catalog.groups and current not in groups:
            groups.add(current)
            current = catalog.group_parents.get(current)
    return Summary(int(evaluation.included.sum()), len(catalog.products), len(groups))


@dataclass(frozen=True)
class TableFilter:
    group_id: str | None = None  # None: the whole store
    search: str = ""
    types: tuple[str, ...] = ()  # empty: every type
    for_sale: bool | None = None
    in_sync: bool | None = None


def product_types(catalog: StoreCatalog) -> list[str]:
    return sorted(str(t) for t in catalog.products["type"].dropna().unique())


def select_rows(catalog: StoreCatalog, evaluation: Evaluation, flt: TableFilter) -> pd.DataFrame:
    """The products the table shows, with «В выгрузке» and «Причина»; order as loaded (by name)."""
    frame = catalog.products
    mask = pd.Series(True, index=frame.index)
    if flt.group_id is not None:
        mask &= frame["group_id"].isin(catalog.below(flt.group_id))
    needle = flt.search.strip().casefold()
    if needle:
        mask &= frame["haystack"].str.contains(needle, regex=False)
    if flt.types:
        mask &= frame["type"].isin(flt.types)
    if flt.for_sale is not None:
        mask &= frame["allow_to_sell"].fillna(False) == flt.for_sale
    if flt.in_sync is not None:
        mask &= evaluation.included == flt.in_sync
    rows = frame.loc[mask.to_numpy()].copy()
    rows["in_sync"] = evaluation.included.loc[rows.index]
    rows["reason"] = evaluation.reason.loc[rows.index]
    return rows


TABLE_COLUMNS = ("in_sync", "name", "reason", "price", "quantity", "measure", "group_name", "type", "allow_to_sell",
                 "code", "article", "barcodes", "cost_price")


def type_name(code: object, names: Mapping[str, str]) -> str:
    """A product type in the provider's words; an unknown one as its code; none as empty."""
    text = cell_text(code)
    return "" if text is None else names.get(text, text)


def table_view(rows: pd.DataFrame, type_names: Mapping[str, str]) -> pd.DataFrame:
    """The rows as the table shows them: every cell readable text (prices «3 802,90», quantities
    «1,5»), types by name, and an empty cell — never «None» or «nan» — where a value is missing."""
    view = pd.DataFrame(index=rows.index)
    view["in_sync"] = rows["in_sync"].astype(bool)
    view["name"] = [cell_text(v) or "" for v in rows["name"]]
    view["reason"] = [cell_text(v) or "" for v in rows["reason"]]
    view["price"] = [money(cell_money(v)) for v in rows["price_k"]]
    view["quantity"] = [number(cell_money(v)) for v in rows["quantity_k"]]
    view["measure"] = [cell_text(v) or "" for v in rows["measure"]]
    view["group_name"] = [cell_text(v) or "" for v in rows["group_name"]]
    view["type"] = [type_name(v, type_names) for v in rows["type"]]
    view["allow_to_sell"] = rows["allow_to_sell"].fillna(False).astype(bool)
    view["code"] = [cell_text(v) or "" for v in rows["code"]]
    view["article"] = [cell_text(v) or "" for v in rows["article"]]
    view["barcodes"] = rows["barcodes"]
    view["cost_price"] = [money(cell_money(v)) for v in rows["cost_k"]]
    return view[list(TABLE_COLUMNS)]


def tree_rows(catalog: StoreCatalog, evaluation: Evaluation) -> list[tuple[GroupNode, int]]:
    """Each group in display order with how many of its products (and below) are in the sync."""
    frame = catalog.products
    own = frame.loc[evaluation.included.to_numpy(), "group_id"].value_counts().to_dict() if len(frame) else {}
    totals: dict[str, int] = {}
    order = catalog.walk()
    for node in reversed(order):
        totals[node.id] = int(own.get(node.id, 0)) + sum(totals.get(child, 0) for child in node.children)
    return [(node, totals[node.id]) for node in order]


def cell_money(value: Any) -> Decimal | None:
    """A thousandths column's value as money (None when missing)."""
    return None if value is None or value is pd.NA else from_thousandths(int(value))


def cell_text(value: Any) -> str | None:
    """A cell's value as text; None when missing (None, NA, NaN)."""
    return None if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)) else str(value)
