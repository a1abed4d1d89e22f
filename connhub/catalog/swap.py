"""Writing a refreshed catalog: the store list, each store's snapshot written while nobody reads
it, then one short transaction that makes it current and retires the old one (readers see the old
catalog or the new one, never half of one). Group cycles are broken on the way in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, and_, delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from connhub.catalog.jobs import JobView
from connhub.db import write_locked
from connhub.models import CatalogGroup, CatalogProduct, CatalogSnapshot, CatalogStore, SnapshotState, utcnow
from connhub.ports.catalog import GroupRecord, ProductRecord, StoreRecord

CATALOG_GROUPS: Table = CatalogGroup.__table__  # type: ignore[assignment]
CATALOG_PRODUCTS: Table = CatalogProduct.__table__  # type: ignore[assignment]

INSERT_CHUNK = 1000


def break_cycles(groups: Iterable[GroupRecord]) -> tuple[list[GroupRecord], list[GroupRecord]]:
    """The groups with every parent cycle broken, and the groups moved to the top to break them.

    A group that is its own parent, or whose parents lead back to it, would hang under nothing
    and vanish from the tree; in each cycle the group with the smallest id goes to the top level,
    so the others keep their place under it. A parent missing from the catalog is left as it is.
    """
    by_id = {group.id: group for group in groups}
    parent = {gid: group.parent_id for gid, group in by_id.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: settled
    lifted: set[str] = set()
    for start in by_id:
        path: list[str] = []
        current: str | None = start
        while current is not None and current in by_id and state.get(current) is None:
            state[current] = 1
            path.append(current)
            current = parent[current]
        if current is not None and state.get(current) == 1:  # came back onto this path: a cycle
            cycle = path[path.index(current):]
            top = min(cycle)
            lifted.add(top)
            parent[top] = None
        for gid in path:
            state[gid] = 2
    if not lifted:
        return list(by_id.values()), []
    fixed = [GroupRecord(g.id, g.name, None, g.attributes, g.barcodes) if g.id in lifted else g
             for g in by_id.values()]
    return fixed, [by_id[gid] for gid in sorted(lifted)]


def save_stores(sessions: sessionmaker[Session], connection_id: int, stores: Sequence[StoreRecord]) -> None:
    """The account's store list as listed now; a store no longer listed goes with its snapshots."""
    now = utcnow()
    with write_locked(sessions) as session:
        existing = {row.store_id: row for row in session.scalars(
            select(CatalogStore).where(CatalogStore.connection_id == connection_id))}
        for position, store in enumerate(stores):
            row = existing.pop(store.id, None)
            if row is None:
                row = CatalogStore(connection_id=connection_id, store_id=store.id)
                session.add(row)
            row.name = store.name[:255]
            row.address = store.address[:500] if store.address else None
            row.position = position
            row.listed_at = now
        for gone in existing.values():
            session.execute(delete(CatalogSnapshot).where(CatalogSnapshot.connection_id == connection_id,
                                                          CatalogSnapshot.store_id == gone.store_id))
            session.delete(gone)
        session.commit()


def _group_row(snapshot_id: int, group: GroupRecord) -> dict[str, Any]:
    return {"snapshot_id": snapshot_id, "id": group.id, "parent_id": group.parent_id,
            "name": group.name[:255], "is_modification_group": group.is_modification_group,
            "attributes": group.attributes, "barcodes": group.barcodes}


def _product_row(snapshot_id: int, product: ProductRecord) -> dict[str, Any]:
    return {"snapshot_id": snapshot_id, "id": product.id, "group_id": product.group_id,
            "name": product.name[:255], "code": product.code, "article": product.article,
            "barcodes": product.barcodes, "price": product.price, "cost_price": product.cost_price,
            "quantity": product.quantity, "measure": product.measure, "type": product.type,
            "allow_to_sell": product.allow_to_sell, "tax": product.tax,
            "attributes_choices": product.attributes_choices, "description": product.description,
            "updated_at": product.updated_at}


def write_snapshot(sessions: sessionmaker[Session], job: JobView, store_id: str,
                    groups: Iterable[GroupRecord], products: Iterable[ProductRecord]) -> int:
    group_list, product_list = list(groups), list(products)
    with sessions.begin() as session:
        snapshot = CatalogSnapshot(connection_id=job.connection_id, store_id=store_id, job_id=job.id,
                                   state=SnapshotState.LOADING, created_at=utcnow(),
                                   group_count=len(group_list), product_count=len(product_list))
        session.add(snapshot)
        session.flush()
        snapshot_id = snapshot.id
    # Loading rows are invisible to readers; write them in chunks so no transaction runs long.
    # Core executemany on the tables: one statement per chunk (the ORM's bulk path splits rows by
    # which values are None, which turned 5,000 products into thousands of statements).
    # Rows are made a chunk at a time: the records are already held once, not twice.
    for start in range(0, len(group_list), INSERT_CHUNK):
        with sessions.begin() as session:
            session.connection().execute(insert(CATALOG_GROUPS), [
                _group_row(snapshot_id, g) for g in group_list[start:start + INSERT_CHUNK]])
    for start in range(0, len(product_list), INSERT_CHUNK):
        with sessions.begin() as session:
            session.connection().execute(insert(CATALOG_PRODUCTS), [
                _product_row(snapshot_id, p) for p in product_list[start:start + INSERT_CHUNK]])
    return snapshot_id


def swap(sessions: sessionmaker[Session], connection_id: int, store_id: str, snapshot_id: int) -> None:
    """Make the new snapshot current and retire the old one in one transaction; then delete it."""
    same_store = and_(CatalogSnapshot.connection_id == connection_id, CatalogSnapshot.store_id == store_id)
    with write_locked(sessions) as session:
        session.execute(update(CatalogSnapshot).where(same_store, CatalogSnapshot.state == SnapshotState.CURRENT)
                        .values(state=SnapshotState.RETIRED))
        session.execute(update(CatalogSnapshot).where(CatalogSnapshot.id == snapshot_id)
                        .values(state=SnapshotState.CURRENT, completed_at=utcnow()))
        session.commit()
    with write_locked(sessions) as session:
        session.execute(delete(CatalogSnapshot).where(same_store, CatalogSnapshot.state == SnapshotState.RETIRED))
        session.commit()
