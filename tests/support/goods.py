"""A user ready to sync against the sandbox's VK goods: real tokens, a fresh catalog copy; VK connected
with a pasted user token, and the sandbox Evotor catalog refreshed for real."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, update

from connhub import oauth
from connhub.catalog import refresh
from connhub.catalog.worker import open_source
from connhub.crypto import Secret
from connhub.models import CatalogProduct, CatalogSnapshot, Connection, RefreshSource, SyncRun
from connhub.providers.evotor.sandbox import EVOTOR_ACCOUNTS
from connhub.providers.vk.sandbox import GoodsControl
from connhub.runtime import Runtime
from connhub.sandbox import SandboxControl
from connhub.sync.runs import view
from connhub.users import UserView
from tests.support import sync as helpers
from tests.support.sync import GROUP, connect_both, load_catalog, save_config, switch_on

ALL_SCOPES = ("groups", "market", "photos")


def ready_for_goods(rt: Runtime, user: UserView, control: GoodsControl, *, scopes: tuple[str, ...] = ALL_SCOPES,
                    **config: object) -> int:
    """Both services connected (VK with a real sandbox goods token), a catalog loaded just now,
    the configuration saved and the sync switched on. Returns the catalog snapshot id."""
    from connhub.models import utcnow

    source_id, target_id = connect_both(rt, SandboxControl(control.base_url), user)
    token = control.user_token(scopes)
    with rt.sessions() as session:
        session.execute(update(Connection).where(Connection.id == target_id)
                        .values(access_token_sealed=rt.cipher.seal(Secret(token))))
        session.commit()
    snapshot_id = load_catalog(rt, source_id, completed_at=utcnow())
    save_config(rt, user, **config)
    switch_on(rt, user)
    return snapshot_id


def add_products(rt: Runtime, snapshot_id: int, count: int, *, group: str = "g-coffee",
                 prefix: str = "bulk") -> list[str]:
    """More products in the catalog copy (ids that look like Evotor's: lower-case, ≤ 50 characters)."""
    ids = []
    with rt.sessions() as session:
        for n in range(count):
            pid = f"{prefix}-{n:04d}-0000-4000-8000-000000000000"[:36]
            ids.append(pid)
            session.add(CatalogProduct(snapshot_id=snapshot_id, id=pid, group_id=group, name=f"Кофе №{n + 1}",
                                       measure="шт", price=Decimal(100 + n), allow_to_sell=True, type="NORMAL"))
        session.execute(update(CatalogSnapshot).where(CatalogSnapshot.id == snapshot_id)
                        .values(product_count=CatalogSnapshot.product_count + count))
        session.commit()
    touch(rt, snapshot_id)
    return ids


def change_product(rt: Runtime, snapshot_id: int, product_id: str, **values: object) -> None:
    with rt.sessions() as session:
        session.execute(update(CatalogProduct).where(CatalogProduct.snapshot_id == snapshot_id,
                                                     CatalogProduct.id == product_id).values(**values))
        session.commit()
    touch(rt, snapshot_id)


def touch(rt: Runtime, snapshot_id: int) -> None:
    # The catalog's in-process cache is keyed by the snapshot's completion time: move it on.
    from connhub.models import utcnow

    with rt.sessions() as session:
        session.execute(update(CatalogSnapshot).where(CatalogSnapshot.id == snapshot_id)
                        .values(completed_at=utcnow()))
        session.commit()


def remove_product(rt: Runtime, snapshot_id: int, product_id: str) -> None:
    from sqlalchemy import delete

    with rt.sessions() as session:
        session.execute(delete(CatalogProduct).where(CatalogProduct.snapshot_id == snapshot_id,
                                                     CatalogProduct.id == product_id))
        session.commit()
    touch(rt, snapshot_id)


def community(control: GoodsControl) -> list[dict]:
    return control.items(GROUP)


def by_sku(control: GoodsControl) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for item in community(control):
        found.setdefault(item["sku"], []).append(item)
    return found


def last_run(rt: Runtime):
    with rt.sessions() as session:
        row = session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(1)).first()
        assert row is not None
        return view(row)


__all__ = ["GROUP", "helpers"]


ACCOUNT = next(iter(EVOTOR_ACCOUNTS))
SMALL_STORE = EVOTOR_ACCOUNTS[ACCOUNT][1]["id"]
GOODS_ON, GOODS_OFF = 218252175, 218252176


def connect_vk(rt: Runtime, user, vk_goods: GoodsControl, scopes=("groups", "market", "photos")) -> None:
    result = oauth.connect_with_token(rt, user_id=user.id, provider="vk",
                                      raw_token=vk_goods.user_token(scopes))
    assert result.ok, result.message


def refresh_catalog(rt: Runtime, connection_id: int) -> None:
    refresh.request_refresh(rt.sessions, connection_id, store_id=SMALL_STORE, source=RefreshSource.USER)
    [job] = refresh.run_pending(rt.sessions, "test", lambda cid: open_source(rt, cid), wait=lambda _s: None)
    assert job.state == "succeeded", job
