"""What the catalog page asks, always scoped to the signed-in user.

Reads only: the rules are written through `connhub.catalog.service`. A store's current snapshot
is loaded once into a pandas frame and kept in memory keyed by its snapshot id (a snapshot never
changes; a refresh makes a new one), so a page rerun filters an in-memory frame instead of
querying tens of thousands of rows again. Rules are read fresh on every run (a handful of rows)
and applied through `connhub.catalog.rules`, the one decision path.

The door re-exports what the page uses from the modules that hold it: snapshot.py (a snapshot in
memory), table.py (decisions, summary, rows, tree) and csv_export.py (the CSV).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connhub.catalog.csv_export import CSV_HEADER, csv_bytes, csv_filename, csv_rows, export_csv
from connhub.catalog.rules import Rule
from connhub.catalog.snapshot import GroupNode, SnapshotView, StoreCatalog, load_snapshot
from connhub.catalog.table import (
    SNAPSHOT_CACHE_SIZE,
    TABLE_COLUMNS,
    Evaluation,
    Summary,
    TableFilter,
    evaluate,
    product_types,
    select_rows,
    summary,
    table_view,
    tree_rows,
    type_name,
)
from connhub.models import CatalogRule, CatalogSnapshot, CatalogStore, Connection, RuleMode, RuleTarget, SnapshotState

__all__ = [
    "CSV_HEADER", "SNAPSHOT_CACHE_SIZE", "TABLE_COLUMNS", "Evaluation", "GroupNode", "SnapshotView", "StoreCatalog",
    "StoreView", "Summary", "TableFilter", "csv_bytes", "csv_filename", "csv_rows", "current_snapshot", "evaluate",
    "export_csv", "load_catalog", "product_types", "rules_for", "select_rows", "stores_for_user", "summary",
    "table_view", "tree_rows", "type_name",
]


@dataclass(frozen=True)
class StoreView:
    connection_id: int
    store_id: str
    name: str
    address: str | None


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
    catalog = load_snapshot(sessions, snapshot)
    with _cache_lock:
        _cache[key] = catalog
        while len(_cache) > SNAPSHOT_CACHE_SIZE:
            _cache.popitem(last=False)
    return catalog


# --- rules -----------------------------------------------------------------------------------


def _rule(row: CatalogRule) -> Rule:
    return Rule(RuleTarget(row.target_kind), row.target_id, RuleMode(row.mode), row.target_name, row.id)


def rules_for(session: Session, user_id: int, store_id: str) -> list[Rule]:
    rows = session.scalars(select(CatalogRule).where(CatalogRule.user_id == user_id,
                                                     CatalogRule.store_id == store_id)
                           .order_by(CatalogRule.created_at, CatalogRule.id))
    return [_rule(row) for row in rows]
