"""The «Заказы» page's door: the user's community, the orders the poller stored (newest first),
each line matched back to the Evotor product whose id the sync wrote into the item's `sku`, and
what is missing when there are none (docs/vk-goods.md, «Orders»)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from connhub.db import execute_read
from connhub.models import (
    CatalogProduct,
    CatalogSnapshot,
    Connection,
    ShopOrder,
    ShopOrderPoll,
    SnapshotState,
    SyncConfig,
)
from connhub.orders.poller import POLL_EVERY, PollResult, poll_user
from connhub.runtime import Runtime
from connhub.text import counted, money

LIMIT = 200
NEEDS = ("Заказы читаются только в расширенном магазине ВКонтакте («Магазин 2.0»), ключом с правом «Товары» "
         "администратора или редактора сообщества")
STATUS_TITLES = {"new": "новый", "agreed": "согласуется", "assembling": "собирается", "delivering": "доставляется",
                 "completed": "выполнен", "cancelled": "отменён", "returned": "возвращён"}


@dataclass(frozen=True)
class LineView:
    title: str  # as the buyer saw it in VK
    product: str  # the Evotor product's name, "" when the sku matches none
    quantity: int
    price: str  # «1 234,50 ₽», "" unknown


@dataclass(frozen=True)
class OrderView:
    number: str
    placed_at: datetime
    status: str  # Russian
    comment: str
    total: str
    lines: tuple[LineView, ...]

    @property
    def matched(self) -> int:
        return sum(1 for line in self.lines if line.product)


@dataclass(frozen=True)
class OrdersPage:
    community: str  # "" when none is chosen
    checked_at: datetime | None
    problem: str
    orders: tuple[OrderView, ...]

    @property
    def empty_reason(self) -> str:
        """What is needed before orders show up (shown when there are none)."""
        if not self.community:
            return ("Выберите сообщество ВКонтакте на странице «Синхронизация»: заказы читаются из его "
                    "магазина.")
        if self.problem:
            return f"Заказы не прочитаны: {self.problem}. {NEEDS}."
        if self.checked_at is None:
            every = counted(int(POLL_EVERY.total_seconds() // 60), "минуту", "минуты", "минут")
            return (f"Заказы сообщества «{self.community}» ещё не проверялись: фоновый процесс connhub "
                    f"проверяет их раз в {every}.")
        return (f"В сообществе «{self.community}» пока нет заказов. Заказы принимает только расширенный "
                "магазин ВКонтакте («Магазин 2.0»), с включённым приёмом заказов.")


def _rubles(kopecks: int | None) -> str:
    return "" if kopecks is None else f"{money(Decimal(kopecks) / 100)} ₽"


def _products(session: Session, user_id: int, store_id: str, skus: set[str]) -> dict[str, str]:
    if not store_id or not skus:
        return {}
    snapshot = session.scalar(select(CatalogSnapshot.id)
                              .join(Connection, Connection.id == CatalogSnapshot.connection_id)
                              .where(Connection.user_id == user_id, CatalogSnapshot.store_id == store_id,
                                     CatalogSnapshot.state == SnapshotState.CURRENT)
                              .order_by(CatalogSnapshot.id.desc()).limit(1))
    if snapshot is None:
        return {}
    rows = session.execute(select(CatalogProduct.id, CatalogProduct.name).where(
        CatalogProduct.snapshot_id == snapshot, CatalogProduct.id.in_(sorted(skus))))
    return {product_id: name for product_id, name in rows}


def _view(row: ShopOrder, products: dict[str, str]) -> OrderView:
    lines = tuple(LineView(str(line.get("title") or ""), products.get(str(line.get("sku") or ""), ""),
                           int(line.get("quantity") or 1),
                           _rubles(line["price_kopecks"] if isinstance(line.get("price_kopecks"), int) else None))
                  for line in (row.lines or []) if isinstance(line, dict))
    return OrderView(row.number or str(row.order_id), row.placed_at, STATUS_TITLES.get(row.status, "неизвестен"),
                     row.comment, _rubles(row.total_kopecks), lines)


def orders_page(session: Session, user_id: int) -> OrdersPage:
    config = session.scalar(select(SyncConfig).where(SyncConfig.user_id == user_id))
    if config is None or config.vk_group_id is None:
        return OrdersPage("", None, "", ())
    community = config.vk_group_name or str(config.vk_group_id)
    poll = session.get(ShopOrderPoll, user_id)
    if poll is not None and poll.group_id != config.vk_group_id:
        poll = None
    rows: Sequence[ShopOrder] = session.scalars(select(ShopOrder).where(
        ShopOrder.user_id == user_id, ShopOrder.group_id == config.vk_group_id)
        .order_by(ShopOrder.placed_at.desc(), ShopOrder.order_id.desc()).limit(LIMIT)).all()
    skus = {str(line.get("sku")) for row in rows for line in (row.lines or []) if isinstance(line, dict)
            and line.get("sku")}
    products = _products(session, user_id, config.evotor_store_id, skus)
    return OrdersPage(community, poll.checked_at if poll else None, poll.problem if poll else "",
                      tuple(_view(row, products) for row in rows))


def orders_for(rt: Runtime, user_id: int) -> OrdersPage:
    """The page's door: `orders_page` in a session of its own."""
    return execute_read(rt.sessions, lambda session: orders_page(session, user_id))


def check_now(rt: Runtime, user_id: int) -> PollResult:
    """«Проверить заказы сейчас»: one poll of the user's community, even if it was polled recently."""
    return poll_user(rt, user_id, force=True)
