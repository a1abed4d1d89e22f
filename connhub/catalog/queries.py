"""What the catalog page asks, always scoped to the signed-in user.

Reads only: the rules are written through `connhub.catalog.service`. A store's current snapshot
is loaded once into a pandas frame and kept in memory keyed by its snapshot id (a snapshot never
changes; a refresh makes a new one), so a page rerun filters an in-memory frame instead of
querying tens of thousands of rows again. Rules are read fresh on every run (a handful of rows)
and applied through `connhub.catalog.rules`, the one decision path.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import BigInteger, Text, select, type_coerce
from sqlalchemy.orm import Session, sessionmaker

from connhub.catalog.rules import Decision, Rule, RuleSet
from connhub.export import excel_csv
from connhub.models import (
    CatalogGroup,
    CatalogProduct,
    CatalogRule,
    CatalogSnapshot,
    CatalogStore,
    Connection,
    RuleMode,
    RuleTarget,
    SnapshotState,
    from_thousandths,
)
from connhub.text import money, number

SNAPSHOT_CACHE_SIZE = 8


@dataclass(frozen=True)
class StoreView:
    connection_id: int
    store_id: str
    name: str
    address: str | None


@dataclass(frozen=True)
class SnapshotView:
    id: int
    connection_id: int
    store_id: str
    completed_at: datetime | None
    group_count: int
    product_count: int


@dataclass(frozen=True)
class GroupNode:
    id: str
    name: str
    parent_id: str | None
    is_modification_group: bool
    depth: int
    product_count: int  # its own products and everything below it
    children: tuple[str, ...]


@dataclass
class StoreCatalog:
    """One snapshot in memory: the products frame and the group tree."""

    snapshot_id: int
    store_id: str
    products: pd.DataFrame
    groups: dict[str, GroupNode]
    roots: tuple[str, ...]
    group_parents: dict[str, str | None]
    group_names: dict[str, str]
    _below: dict[str, frozenset[str]] = field(default_factory=dict)

    def below(self, group_id: str) -> frozenset[str]:
        """The group and every group under it."""
        found = self._below.get(group_id)
        if found is None:
            ids: set[str] = set()
            stack = [group_id]
            while stack:
                current = stack.pop()
                if current in ids:
                    continue
                ids.add(current)
                node = self.groups.get(current)
                if node is not None:
                    stack.extend(node.children)
            found = frozenset(ids)
            self._below[group_id] = found
        return found

    def walk(self) -> list[GroupNode]:
        """The tree in display order: each group followed by its children, by name."""
        out: list[GroupNode] = []
        stack = list(reversed(self.roots))
        seen: set[str] = set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            node = self.groups[current]
            out.append(node)
            stack.extend(reversed(node.children))
        return out


# --- stores and snapshots --------------------------------------------------------------------


def stores_for_user(session: Session, user_id: int, providers: Iterable[str]) -> list[StoreView]:
    rows = session.execute(
        select(CatalogStore).join(Connection, Connection.id == CatalogStore.connection_id)
        .where(Connection.user_id == user_id, Connection.provider.in_(list(providers)))
        .order_by(CatalogStore.position, CatalogStore.name)
    ).scalars()
    return [StoreView(r.connection_id, r.store_id, r.name, r.address) for r in rows]


def current_snapshot(session: Session, user_id: int, connection_id: int, store_id: str) -> SnapshotView | None:
    row = session.execute(
        select(CatalogSnapshot).join(Connection, Connection.id == CatalogSnapshot.connection_id)
        .where(Connection.user_id == user_id, CatalogSnapshot.connection_id == connection_id,
               CatalogSnapshot.store_id == store_id, CatalogSnapshot.state == SnapshotState.CURRENT)
        .order_by(CatalogSnapshot.id.desc()).limit(1)
    ).scalars().first()
    if row is None:
        return None
    return SnapshotView(row.id, row.connection_id, row.store_id, row.completed_at, row.group_count,
                        row.product_count)


# --- loading a snapshot ----------------------------------------------------------------------

_cache: OrderedDict[tuple[str, int, str, datetime | None], StoreCatalog] = OrderedDict()
_cache_lock = threading.Lock()


def load_catalog(sessions: sessionmaker[Session], snapshot: SnapshotView) -> StoreCatalog:
    """The snapshot in memory; loaded from the database once per snapshot per process.

    A snapshot never changes once current. The key carries the database and the completion time
    as well as the id, so a recreated database can never serve another catalog from memory."""
    bind = sessions.kw.get("bind")
    key = (str(getattr(bind, "url", "")), snapshot.id, snapshot.store_id, snapshot.completed_at)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    catalog = _load(sessions, snapshot)
    with _cache_lock:
        _cache[key] = catalog
        while len(_cache) > SNAPSHOT_CACHE_SIZE:
            _cache.popitem(last=False)
    return catalog


def _load(sessions: sessionmaker[Session], snapshot: SnapshotView) -> StoreCatalog:
    """One Core query, raw column values, then vectorised conversions: a 50,000-product store
    loads in about a second (per-row type processing took five)."""
    p = CatalogProduct
    raw: dict[str, Any] = {  # type_coerce: read what the driver gives, skip SQLAlchemy's per-row processing
        "id": p.id, "name": p.name, "group_id": p.group_id, "code": p.code, "article": p.article,
        "barcodes": type_coerce(p.barcodes, Text), "price_k": type_coerce(p.price, BigInteger),
        "cost_k": type_coerce(p.cost_price, BigInteger), "quantity_k": type_coerce(p.quantity, BigInteger),
        "measure": p.measure, "type": p.type, "allow_to_sell": p.allow_to_sell, "tax": p.tax,
        "attributes_choices": type_coerce(p.attributes_choices, Text), "description": p.description,
        "updated_at": type_coerce(p.updated_at, Text),
    }
    query = (select(*(column.label(name) for name, column in raw.items()))
             .where(p.snapshot_id == snapshot.id).order_by(p.name, p.id))
    with sessions() as session:
        groups = session.execute(
            select(CatalogGroup.id, CatalogGroup.parent_id, CatalogGroup.name, CatalogGroup.is_modification_group)
            .where(CatalogGroup.snapshot_id == snapshot.id)
        ).all()
        rows = session.connection().execute(query).all()
    values = list(zip(*rows, strict=True)) if rows else [() for _ in raw]
    frame = pd.DataFrame({name: pd.Series(list(column), dtype=object if name in _OBJECT_COLUMNS else None)
                          for name, column in zip(raw, values, strict=True)})
    return _build(snapshot, frame, groups)


# Kept as Python objects: JSON (decoded below), integers that may be NULL (made Int64 below).
_OBJECT_COLUMNS = frozenset({"barcodes", "attributes_choices", "price_k", "cost_k", "quantity_k", "allow_to_sell",
                             "updated_at"})


def _json(value: Any) -> Any:
    """A JSON column as the driver gave it: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


def _build(snapshot: SnapshotView, frame: pd.DataFrame, groups: Sequence[Any]) -> StoreCatalog:
    parents = {g.id: g.parent_id for g in groups}
    names = {g.id: g.name for g in groups}
    modification = {g.id: bool(g.is_modification_group) for g in groups}
    children: dict[str | None, list[str]] = {}
    for g in sorted(groups, key=lambda g: (g.name.lower(), g.id)):
        parent = g.parent_id if g.parent_id in parents else None
        children.setdefault(parent, []).append(g.id)

    own_counts = frame["group_id"].value_counts().to_dict() if len(frame) else {}
    totals: dict[str, int] = {}
    depth: dict[str, int] = {}
    # Iterative post-order over the tree (depth is unbounded, recursion is not).
    order: list[str] = []
    stack: list[tuple[str, int]] = [(gid, 0) for gid in children.get(None, [])]
    visited: set[str] = set()
    while stack:
        gid, d = stack.pop()
        if gid in visited:
            continue
        visited.add(gid)
        depth[gid] = d
        order.append(gid)
        stack.extend((child, d + 1) for child in children.get(gid, []))
    for gid in reversed(order):
        totals[gid] = int(own_counts.get(gid, 0)) + sum(totals.get(c, 0) for c in children.get(gid, []))
    nodes = {gid: GroupNode(gid, names[gid], parents[gid], modification[gid], depth[gid], totals[gid],
                            tuple(children.get(gid, []))) for gid in order}

    frame = frame.astype({"price_k": "Int64", "cost_k": "Int64", "quantity_k": "Int64"})
    frame["price"] = frame["price_k"].astype("Float64") / 1000
    frame["cost_price"] = frame["cost_k"].astype("Float64") / 1000
    frame["quantity"] = frame["quantity_k"].astype("Float64") / 1000
    frame["group_name"] = frame["group_id"].map(names)
    frame["barcodes"] = [list(v) if isinstance(v, list) else [] for v in map(_json, frame["barcodes"])]
    frame["is_modification"] = [bool(_json(v)) for v in frame["attributes_choices"]]
    frame["allow_to_sell"] = frame["allow_to_sell"].map(lambda v: None if v is None else bool(v)).astype("boolean")
    frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True, format="ISO8601")
    text = (frame["name"].fillna("") + "\x1f" + frame["code"].fillna("") + "\x1f"
            + frame["article"].fillna("") + "\x1f" + frame["barcodes"].map(" ".join))
    frame["haystack"] = text.str.casefold()
    frame = frame.reset_index(drop=True)
    return StoreCatalog(snapshot.id, snapshot.store_id, frame, nodes,
                        tuple(children.get(None, [])), parents, names)


# --- rules -----------------------------------------------------------------------------------


def _rule(row: CatalogRule) -> Rule:
    return Rule(RuleTarget(row.target_kind), row.target_id, RuleMode(row.mode), row.target_name, row.id)


def rules_for(session: Session, user_id: int, store_id: str) -> list[Rule]:
    rows = session.scalars(select(CatalogRule).where(CatalogRule.user_id == user_id,
                                                     CatalogRule.store_id == store_id)
                           .order_by(CatalogRule.created_at, CatalogRule.id))
    return [_rule(row) for row in rows]


# --- the table -------------------------------------------------------------------------------


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
    text = _text(code)
    return "" if text is None else names.get(text, text)


def table_view(rows: pd.DataFrame, type_names: Mapping[str, str]) -> pd.DataFrame:
    """The rows as the table shows them: every cell readable text (prices «3 802,90», quantities
    «1,5»), types by name, and an empty cell — never «None» or «nan» — where a value is missing."""
    view = pd.DataFrame(index=rows.index)
    view["in_sync"] = rows["in_sync"].astype(bool)
    view["name"] = [_text(v) or "" for v in rows["name"]]
    view["reason"] = [_text(v) or "" for v in rows["reason"]]
    view["price"] = [money(_money(v)) for v in rows["price_k"]]
    view["quantity"] = [number(_money(v)) for v in rows["quantity_k"]]
    view["measure"] = [_text(v) or "" for v in rows["measure"]]
    view["group_name"] = [_text(v) or "" for v in rows["group_name"]]
    view["type"] = [type_name(v, type_names) for v in rows["type"]]
    view["allow_to_sell"] = rows["allow_to_sell"].fillna(False).astype(bool)
    view["code"] = [_text(v) or "" for v in rows["code"]]
    view["article"] = [_text(v) or "" for v in rows["article"]]
    view["barcodes"] = rows["barcodes"]
    view["cost_price"] = [money(_money(v)) for v in rows["cost_k"]]
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


# --- CSV -------------------------------------------------------------------------------------

CSV_HEADER = ("Название", "Код", "Артикул", "Штрихкоды", "Группа", "Тип", "Цена, ₽", "Себестоимость, ₽",
              "Остаток", "Ед. изм.", "Продаётся", "В выгрузке", "Причина", "Описание", "Изменён", "ID")


def _money(value: Any) -> Decimal | None:
    return None if value is None or value is pd.NA else from_thousandths(int(value))


def csv_rows(rows: pd.DataFrame, type_names: Mapping[str, str] | None = None) -> Iterable[Sequence[Any]]:
    names = type_names or {}
    columns = ["name", "code", "article", "barcodes", "group_name", "type", "price_k", "cost_k", "quantity_k",
               "measure", "allow_to_sell", "in_sync", "reason", "description", "updated_at", "id"]
    for (name, code, article, barcodes, group, kind, price, cost, quantity, measure, for_sale, in_sync, reason,
         description, updated, pid) in rows[columns].itertuples(index=False, name=None):
        yield (name, _text(code), _text(article), ", ".join(barcodes), _text(group), type_name(kind, names) or None,
               _money(price),
               _money(cost), _money(quantity), _text(measure), None if for_sale is pd.NA else bool(for_sale),
               bool(in_sync), reason, _text(description), _when(updated), pid)


def _text(value: Any) -> str | None:
    return None if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)) else str(value)


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
