"""What the sync would publish: the products of the chosen store that the catalog's rules let in.

The catalog's own queries load the snapshot and its rules and `connhub.catalog.rules.RuleSet`
decides each product: the one code path the catalog page, this module (for the sync page and
`read_config`) and the sync engine share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connhub.catalog import queries
from connhub.catalog.rules import Rule
from connhub.models import (
    CatalogGroup,
    CatalogProduct,
    CatalogSnapshot,
    Connection,
    RuleMode,
    RuleTarget,
    SnapshotState,
    from_thousandths,
)
from connhub.sync.mapping import Modifications, ProductFacts
from connhub.sync.policies import plural


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
    return {store.store_id: store.name
            for store in queries.stores_for_user(session, user_id, [provider_of(session, connection_id)])
            if store.connection_id == connection_id}


def provider_of(session: Session, connection_id: int) -> str:
    return session.scalar(select(Connection.provider).where(Connection.id == connection_id)) or ""


def catalog_refreshed_at(session: Session, user_id: int, connection_id: int, store_id: str | None) -> datetime | None:
    """When the store's catalog (any store's, without one) was last loaded completely."""
    if store_id:
        snapshot = queries.current_snapshot(session, user_id, connection_id, store_id)
        return None if snapshot is None else snapshot.completed_at
    return session.scalar(
        select(func.max(CatalogSnapshot.completed_at)).join(Connection, Connection.id == CatalogSnapshot.connection_id)
        .where(Connection.user_id == user_id, CatalogSnapshot.connection_id == connection_id,
               CatalogSnapshot.state == SnapshotState.CURRENT))


def selection_for(sessions: sessionmaker[Session], user_id: int, connection_id: int,
                  store_id: str) -> Selection | None:
    """The store's products in the sync, decided by the catalog's rules; None without a catalog."""
    with sessions() as session:
        snapshot = queries.current_snapshot(session, user_id, connection_id, store_id)
        if snapshot is None:
            return None
        rules = queries.rules_for(session, user_id, store_id)
    return _selection(sessions, snapshot, store_id, rules)


def selected_facts(sessions: sessionmaker[Session], user_id: int, connection_id: int,
                   store_id: str) -> tuple[Selection, dict[str, ProductFacts]] | None:
    """What a run reads of the catalog, once: the selection and the selected products' facts, both
    from the one current snapshot's products as the catalog holds them in memory
    (`queries.load_catalog`); only the modification groups' attributes are read besides."""
    with sessions() as session:
        snapshot = queries.current_snapshot(session, user_id, connection_id, store_id)
        if snapshot is None:
            return None
        rules = queries.rules_for(session, user_id, store_id)
        groups = {g.id: g for g in session.scalars(select(CatalogGroup).where(
            CatalogGroup.snapshot_id == snapshot.id, CatalogGroup.is_modification_group.is_(True)))}
        session.expunge_all()
    catalog = queries.load_catalog(sessions, snapshot)
    included = catalog.products.loc[queries.evaluate(catalog, rules).included.to_numpy()]
    selection = Selection(store_id=store_id, refreshed_at=snapshot.completed_at,
                          product_ids=tuple(str(pid) for pid in included["id"].tolist()),
                          total=len(catalog.products), rules=tuple(rules))
    facts: dict[str, ProductFacts] = {}
    families = {gid: modifications_of(group) for gid, group in groups.items()}
    for row in included[list(_FACT_COLUMNS)].to_dict("records"):
        allowed = _value(row["allow_to_sell"])
        group_id = str(_value(row["group_id"]) or "")
        chosen = _choices(row["attributes_choices"])
        facts[str(row["id"])] = ProductFacts(
            id=str(row["id"]), name=str(_value(row["name"]) or ""), measure=str(_value(row["measure"]) or ""),
            article=_value(row["article"]), description=_value(row["description"]),
            price=_thousandths(row["price_k"]), quantity=_thousandths(row["quantity_k"]),
            allow_to_sell=bool(allowed) if allowed is not None else True, type=str(_value(row["type"]) or ""),
            choices=choice_names(groups.get(group_id), chosen),
            modification_of=families.get(group_id) if chosen else None)
    return selection, facts


_FACT_COLUMNS = ("id", "name", "measure", "article", "description", "price_k", "quantity_k", "allow_to_sell",
                 "type", "group_id", "attributes_choices")


def _value(value: Any) -> Any:
    """A frame cell as Python: pandas' missing markers become None."""
    if value is None or (not isinstance(value, list | dict | str) and bool(pd.isna(value))):
        return None
    return value


def _thousandths(value: Any) -> Decimal | None:
    found = _value(value)
    return None if found is None else from_thousandths(int(found))


def _choices(value: Any) -> dict[str, str] | None:
    found = _value(value)
    if isinstance(found, str):
        try:
            found = json.loads(found)
        except ValueError:
            return None
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else None


def modifications_of(group: CatalogGroup) -> Modifications:
    """A modification group as its modifications' facts name it (its attributes' names in order)."""
    names = tuple(str(a.get("name") or "") for a in group.attributes or [] if isinstance(a, dict))
    return Modifications(group.id, group.name, names)


def choice_names(group: CatalogGroup | None, chosen: dict[str, str] | None) -> tuple[str, ...]:
    """A modification's choice names, in its group's attribute order."""
    if group is None or not chosen:
        return ()
    names: list[str] = []
    for attribute in group.attributes or []:
        if not isinstance(attribute, dict):
            continue
        choice_id = chosen.get(str(attribute.get("id")))
        for choice in attribute.get("choices") or []:
            if isinstance(choice, dict) and choice.get("id") == choice_id and choice.get("name"):
                names.append(str(choice["name"]))
    return tuple(names)


def _selection(sessions: sessionmaker[Session], snapshot: queries.SnapshotView, store_id: str,
               rules: list[Rule]) -> Selection:
    catalog = queries.load_catalog(sessions, snapshot)
    evaluation = queries.evaluate(catalog, rules)
    included = tuple(str(product_id) for product_id in
                     catalog.products.loc[evaluation.included.to_numpy(), "id"].tolist())
    return Selection(store_id=store_id, refreshed_at=snapshot.completed_at, product_ids=included,
                     total=len(catalog.products), rules=tuple(rules))


EMPTY_COLUMNS = {"article": CatalogProduct.article, "description": CatalogProduct.description,
                 "measure": CatalogProduct.measure}


def preview_facts(session: Session, user_id: int, connection_id: int, store_id: str,
                  product_ids: tuple[str, ...], *, empty: str | None = None) -> ProductFacts | None:
    """A real product to preview the description template on: the first one in the sync (or in the
    store when none is selected), as the mapping reads products; with `empty`, the first one in the
    sync whose field of that name is empty (None when there is none)."""
    snapshot = queries.current_snapshot(session, user_id, connection_id, store_id)
    if snapshot is None:
        return None
    query = select(CatalogProduct).where(CatalogProduct.snapshot_id == snapshot.id)
    column = EMPTY_COLUMNS.get(empty or "")
    if empty is not None:
        if column is None:
            return None
        query = query.where((column.is_(None)) | (func.trim(column) == ""))
        if product_ids:
            query = query.where(CatalogProduct.id.in_(product_ids))
    elif product_ids:
        query = query.where(CatalogProduct.id == product_ids[0])
    row = session.scalars(query.order_by(CatalogProduct.name, CatalogProduct.id).limit(1)).first()
    if row is None:
        return None
    return ProductFacts(id=row.id, name=row.name, measure=row.measure or "", article=row.article,
                        description=row.description, price=row.price, quantity=row.quantity,
                        allow_to_sell=row.allow_to_sell if row.allow_to_sell is not None else True,
                        type=row.type or "")
