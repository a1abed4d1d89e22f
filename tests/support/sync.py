"""Seeding a user's catalog, connections and sync configuration for the sync tests."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pydantic import SecretStr
from sqlalchemy import select

from connhub.models import (
    CatalogGroup,
    CatalogProduct,
    CatalogRule,
    CatalogSnapshot,
    CatalogStore,
    Connection,
    SnapshotState,
    Status,
    utcnow,
)
from connhub.runtime import Runtime
from connhub.sandbox import SandboxControl
from connhub.sync import config
from connhub.sync.config import Choices, Community
from connhub.sync.policies import DEFAULT_TEMPLATE
from connhub.users import UserView
from tests.support.connect import add_connection

STORE = "20170228-F4F1-401B-80FA-9ECCA8451FFB"
OTHER_STORE = "20190412-A1B2-4C3D-8E9F-0A1B2C3D4E5F"
GROUP = 218252175
GOODS_OFF_GROUP = 1
CATEGORY = 500
COMMUNITIES = {GROUP: Community(GROUP, "Магазин у дома", True), GOODS_OFF_GROUP: Community(1, "VK API", False)}
CATEGORIES = {CATEGORY: "Продукты питания / Напитки", 101: "Гардероб / Мужская одежда"}
ALL_RIGHTS = ["groups", "market", "photos"]
# Groups: Чай > Зелёный; Кофе. Products: two green teas, one black tea, two coffees.
GROUPS = {"g-tea": (None, "Чай"), "g-green": ("g-tea", "Зелёный"), "g-coffee": (None, "Кофе")}
PRODUCTS = {
    "p-sencha": ("g-green", "Сенча", "кг", "SEN-1", Decimal("1200.50")),
    "p-gyokuro": ("g-green", "Гёкуро", "кг", None, Decimal("3400")),
    "p-assam": ("g-tea", "Ассам", "кг", "ASM", Decimal("800")),
    "p-latte": ("g-coffee", "Латте", "шт", None, Decimal("250")),
    "p-espresso": ("g-coffee", "Эспрессо", "шт", None, Decimal("0")),
}


def connect_both(rt: Runtime, control: SandboxControl, user: UserView, *, source: Status = Status.ONLINE,
                 target: Status = Status.ONLINE, rights: list[str] | None = ALL_RIGHTS) -> tuple[int, int]:
    source_id = add_connection(rt, control, user, "evotor", status=source,
                               reason="" if source is Status.ONLINE else "Эвотор не ответил вовремя")
    target_id = add_connection(rt, control, user, "vk", status=target,
                               reason="" if target is Status.ONLINE else "ВКонтакте отклонил токен")
    if rights is not None:
        set_rights(rt, target_id, rights)
    return source_id, target_id


def set_rights(rt: Runtime, connection_id: int, rights: list[str]) -> None:
    with rt.sessions() as session:
        row = session.get(Connection, connection_id)
        assert row is not None
        row.profile = {**row.profile, "rights": {
            **{name: name in rights for name in ("groups", "market", "photos")},
            "checked_at": "2026-03-06T09:00:00+00:00", "note": ""}}
        session.commit()


def load_catalog(rt: Runtime, connection_id: int, *, store_id: str = STORE, store_name: str = "Чайная",
                 completed_at: datetime | None = None) -> int:
    """A current catalog snapshot of the store, as a finished refresh leaves it."""
    completed_at = completed_at or utcnow() - timedelta(hours=2)
    with rt.sessions() as session:
        if session.scalar(select(CatalogStore).where(CatalogStore.connection_id == connection_id,
                                                     CatalogStore.store_id == store_id)) is None:
            session.add(CatalogStore(connection_id=connection_id, store_id=store_id, name=store_name,
                                     address="Москва", position=0 if store_id == STORE else 1))
        snapshot = CatalogSnapshot(connection_id=connection_id, store_id=store_id, state=SnapshotState.CURRENT,
                                   completed_at=completed_at, group_count=len(GROUPS),
                                   product_count=len(PRODUCTS))
        session.add(snapshot)
        session.flush()
        for group_id, (parent, name) in GROUPS.items():
            session.add(CatalogGroup(snapshot_id=snapshot.id, id=group_id, parent_id=parent, name=name))
        for product_id, (group, name, measure, article, price) in PRODUCTS.items():
            session.add(CatalogProduct(snapshot_id=snapshot.id, id=product_id, group_id=group, name=name,
                                       measure=measure, article=article, price=price, allow_to_sell=True,
                                       type="NORMAL", description=None))
        session.commit()
        return snapshot.id


def add_rule(rt: Runtime, user: UserView, kind: str, target_id: str, mode: str, *, store_id: str = STORE,
             name: str = "") -> None:
    with rt.sessions() as session:
        session.add(CatalogRule(user_id=user.id, store_id=store_id, target_kind=kind, target_id=target_id,
                                mode=mode, target_name=name))
        session.commit()


def choices(rt: Runtime, user: UserView) -> Choices:
    return Choices(stores={STORE: "Чайная", OTHER_STORE: "Кофейня на Садовой"}, communities=COMMUNITIES,
                   categories=CATEGORIES)


def save_config(rt: Runtime, user: UserView, **changes: object) -> config.SyncConfigView:
    values: dict[str, object] = {
        "store_id": STORE, "vk_group_id": GROUP, "vk_category_id": CATEGORY,
        "on_removed": "hide", "on_not_for_sale": "hide", "on_zero_price": "skip",
        "price_multiplier": "1", "description_template": DEFAULT_TEMPLATE,
    }
    values.update(changes)
    with rt.sessions.begin() as session:
        return config.save_settings(session, user.id, values, choices(rt, user))


def switch_on(rt: Runtime, user: UserView) -> config.SyncConfigView:
    from connhub.sync import status

    return status.switch_on(rt, user.id, confirmed_by=user.email, shown=status.sync_status(rt, user.id).snapshot)


def ready_user(rt: Runtime, control: SandboxControl, user: UserView) -> None:
    """Everything green and the sync switched on."""
    source_id, _ = connect_both(rt, control, user)
    load_catalog(rt, source_id)
    save_config(rt, user)
    switch_on(rt, user)


WHEN = datetime(2026, 3, 6, 9, 0, tzinfo=UTC)


def env_of(rt: Runtime) -> dict[str, str]:
    """This process's environment with `rt`'s core settings on top (for run/ scripts run as processes)."""
    env = dict(os.environ)
    for name, value in rt.settings.model_dump().items():
        env[name] = str(value.get_secret_value() if isinstance(value, SecretStr) else value)
    return env
