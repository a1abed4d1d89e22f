"""What the sync would publish: the products of the chosen store that the catalog's rules let in.

The decision for each product is `connhub.catalog.rules.RuleSet`'s, the one code path the
catalog page, this module (for the sync page and `read_config`) and the sync engine share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connhub.catalog.rules import Rule, RuleSet
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
)
from connhub.sync.config import plural
from connhub.sync.mapping import ProductFacts


@dataclass(frozen=True)
class Selection:
    store_id: str
    refreshed_at: datetime | None
    product_ids: tuple[str, ...]  # in the sync, in the catalog's order
    total: int  # products in the store's catalog
    rules: tuple[Rule, ...]

    @property
    def count(self) -> int:
        return len(self.product_ids)

    def summary_text(self) -> str:
        """«N групп и M отдельных товаров включены, K исключены: будет выгружено X из Y товаров»."""
        groups = sum(1 for rule in self.rules if rule.kind == RuleTarget.GROUP and rule.mode == RuleMode.INCLUDE)
        products = sum(1 for rule in self.rules
                       if rule.kind == RuleTarget.PRODUCT and rule.mode == RuleMode.INCLUDE)
        excluded = sum(1 for rule in self.rules if rule.mode == RuleMode.EXCLUDE)
        if not self.rules:
            head = "Правил нет — в выгрузке весь магазин"
        else:
            head = (f"{groups} {plural(groups, 'группа', 'группы', 'групп')} и {products} "
                    f"{plural(products, 'отдельный товар', 'отдельных товара', 'отдельных товаров')} включены, "
                    f"{excluded} исключены")
            if any(rule.kind == RuleTarget.STORE and rule.mode == RuleMode.INCLUDE for rule in self.rules):
                head = f"Магазин включён целиком; {head}"
        return (f"{head}: будет выгружено {self.count} из {self.total} "
                f"{plural(self.total, 'товара', 'товаров', 'товаров')}")


def stores(session: Session, user_id: int, connection_id: int) -> dict[str, str]:
    """The source account's stores as the catalog last listed them: id → name, in its order."""
    rows = session.execute(
        select(CatalogStore.store_id, CatalogStore.name)
        .join(Connection, Connection.id == CatalogStore.connection_id)
        .where(Connection.user_id == user_id, CatalogStore.connection_id == connection_id)
        .order_by(CatalogStore.position, CatalogStore.name)
    ).all()
    return {store_id: name for store_id, name in rows}


def _current_snapshot(session: Session, user_id: int, connection_id: int,
                      store_id: str | None) -> CatalogSnapshot | None:
    query = (select(CatalogSnapshot).join(Connection, Connection.id == CatalogSnapshot.connection_id)
             .where(Connection.user_id == user_id, CatalogSnapshot.connection_id == connection_id,
                    CatalogSnapshot.state == SnapshotState.CURRENT))
    if store_id:
        query = query.where(CatalogSnapshot.store_id == store_id)
    return session.scalars(query.order_by(CatalogSnapshot.completed_at.desc(), CatalogSnapshot.id.desc())
                           .limit(1)).first()


def catalog_refreshed_at(session: Session, user_id: int, connection_id: int, store_id: str | None) -> datetime | None:
    """When the store's catalog (any store's, without one) was last loaded completely."""
    snapshot = _current_snapshot(session, user_id, connection_id, store_id)
    return None if snapshot is None else (snapshot.completed_at or snapshot.created_at)


def rules_for(session: Session, user_id: int, store_id: str) -> list[Rule]:
    rows = session.scalars(select(CatalogRule).where(CatalogRule.user_id == user_id, CatalogRule.store_id == store_id)
                           .order_by(CatalogRule.created_at, CatalogRule.id))
    return [Rule(RuleTarget(row.target_kind), row.target_id, RuleMode(row.mode), row.target_name, row.id)
            for row in rows]


def selection_for(session: Session, user_id: int, connection_id: int, store_id: str) -> Selection | None:
    """The store's products in the sync; None when its catalog was never loaded."""
    snapshot = _current_snapshot(session, user_id, connection_id, store_id)
    if snapshot is None:
        return None
    parents: dict[str, str | None] = {
        group_id: parent_id for group_id, parent_id in session.execute(
            select(CatalogGroup.id, CatalogGroup.parent_id).where(CatalogGroup.snapshot_id == snapshot.id))
    }
    products: list[tuple[str, str | None]] = [
        (product_id, group_id) for product_id, group_id in session.execute(
            select(CatalogProduct.id, CatalogProduct.group_id).where(CatalogProduct.snapshot_id == snapshot.id)
            .order_by(CatalogProduct.name, CatalogProduct.id))
    ]
    rules = rules_for(session, user_id, store_id)
    ruleset = RuleSet(rules, store_id=store_id, group_parents=parents)
    decisions = ruleset.decide_all([pid for pid, _ in products], [gid for _, gid in products])
    included = tuple(pid for (pid, _), decision in zip(products, decisions, strict=True) if decision.included)
    return Selection(store_id=store_id, refreshed_at=snapshot.completed_at or snapshot.created_at,
                     product_ids=included, total=len(products), rules=tuple(rules))


def preview_facts(session: Session, user_id: int, connection_id: int, store_id: str,
                  product_ids: tuple[str, ...]) -> ProductFacts | None:
    """A real product to preview the description template on: the first one in the sync (or in the
    store when none is selected), as the mapping reads products."""
    snapshot = _current_snapshot(session, user_id, connection_id, store_id)
    if snapshot is None:
        return None
    query = select(CatalogProduct).where(CatalogProduct.snapshot_id == snapshot.id)
    if product_ids:
        query = query.where(CatalogProduct.id == product_ids[0])
    row = session.scalars(query.order_by(CatalogProduct.name, CatalogProduct.id).limit(1)).first()
    if row is None:
        return None
    return ProductFacts(id=row.id, name=row.name, measure=row.measure or "", article=row.article,
                        description=row.description, price=row.price, quantity=row.quantity,
                        allow_to_sell=row.allow_to_sell if row.allow_to_sell is not None else True,
                        type=row.type or "")
