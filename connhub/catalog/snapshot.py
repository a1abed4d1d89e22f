"""One catalog snapshot in memory: the products as a pandas frame and the group tree.

`load_snapshot` reads a snapshot with one Core query and raw column values, then converts them
vectorised (a 50,000-product store loads in about a second); `connhub.catalog.queries.load_catalog`
keeps what it loads per process, keyed by the snapshot (a snapshot never changes once current).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import BigInteger, Text, select, type_coerce
from sqlalchemy.orm import Session, sessionmaker

from connhub.models import CatalogGroup, CatalogProduct


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


def load_snapshot(sessions: sessionmaker[Session], snapshot: SnapshotView) -> StoreCatalog:
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
