"""One poll of a user's community for orders (docs/vk-goods.md, «Orders»).

The community is the one chosen on «Синхронизация»; the orders come through the target provider's
`GoodsTarget.orders` (newest first, pages of 50) and `order_lines`. Paging stops at a short page,
at the total, at a page with nothing new, or after `MAX_PAGES`. A new order is stored with its
lines and recorded as a journal event (which writes its notices to the outbox) in one
transaction; a known order's status is refreshed. The first poll of a community stores what is
already there without events, so connecting a shop with a history does not send a notice per
old order.

A poll is claimed on the user's `ShopOrderPoll` row (`claimable`, then `checked_at` set), so two
sidecars never poll one user at once and an order is told once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connhub import connections
from connhub.db import execute_read, execute_write
from connhub.journal import events
from connhub.journal.record import record
from connhub.models import ShopOrder, ShopOrderPoll, SyncConfig, utcnow
from connhub.ports.errors import ProviderError
from connhub.ports.goods import GoodsTarget, Order, OrderLine
from connhub.providers.capabilities import GOODS
from connhub.runtime import Runtime
from connhub.sync.roles import roles
from connhub.sync.tokens import goods_target
from connhub.work.claims import claimable

log = logging.getLogger(__name__)

POLL_EVERY = timedelta(minutes=5)
PAGE = 50
MAX_PAGES = 20  # 1 000 orders a poll; older ones were read by earlier polls


@dataclass(frozen=True)
class PollResult:
    user_id: int
    new: int = 0
    updated: int = 0
    told: int = 0
    problem: str = ""


def due_users(session: Session, now: datetime | None = None) -> list[int]:
    """Users with a community chosen whose last poll is older than POLL_EVERY (or who had none)."""
    cutoff = (now or utcnow()) - POLL_EVERY
    rows = session.execute(select(SyncConfig.user_id, ShopOrderPoll.checked_at)
                           .outerjoin(ShopOrderPoll, ShopOrderPoll.user_id == SyncConfig.user_id)
                           .where(SyncConfig.vk_group_id.is_not(None))).all()
    return [user_id for user_id, checked in rows if checked is None or checked <= cutoff]


def _claim(session: Session, user_id: int, group_id: int, now: datetime, *, force: bool) -> bool | None:
    """True: this process polls now; False: polled recently or by another; None: the first poll."""
    row = session.scalar(claimable(select(ShopOrderPoll).where(ShopOrderPoll.user_id == user_id), session))
    if row is None:
        session.add(ShopOrderPoll(user_id=user_id, group_id=group_id, checked_at=now, problem=""))
        session.flush()
        return None
    if row.group_id != group_id:  # another community: its first poll
        row.group_id, row.checked_at, row.problem = group_id, now, ""
        return None
    if not force and row.checked_at > now - POLL_EVERY:
        return False
    row.checked_at = now
    return True


def _line(line: OrderLine) -> dict[str, object]:
    return {"item_id": line.item_id, "title": line.title[:255], "sku": line.sku[:64], "quantity": line.quantity,
            "price_kopecks": line.price_kopecks}


def _read(target: GoodsTarget, group_id: int, known: set[int]) -> tuple[list[Order], list[Order]]:
    """(new orders with their lines, known orders as listed now)."""
    new: list[Order] = []
    seen: list[Order] = []
    offset = 0
    for _ in range(MAX_PAGES):
        total, page = target.orders(group_id, offset=offset, count=PAGE)
        fresh = [order for order in page if order.id not in known and order.id not in {o.id for o in new}]
        new.extend(fresh)
        seen.extend(order for order in page if order.id in known)
        offset += len(page)
        if len(page) < PAGE or offset >= total or not fresh:
            break
    with_lines: list[Order] = []
    for order, lines in zip(new, target.order_lines(new), strict=True):
        if isinstance(lines, tuple):
            with_lines.append(Order(order.id, order.buyer_id, order.number, order.placed_at, order.status,
                                    order.comment, order.total_kopecks, lines))
        else:  # read again on the next poll
            log.warning("orders: the lines of order %s were not read: %s", order.id, lines.reason)
    return with_lines, seen


def poll_user(rt: Runtime, user_id: int, *, force: bool = False) -> PollResult:
    """Poll one user's community now (`force`: even when polled within POLL_EVERY)."""
    parts = roles(rt.providers)
    with rt.sessions() as session:
        config = session.scalar(select(SyncConfig).where(SyncConfig.user_id == user_id))
        view = connections.get_for_user(session, user_id, parts.target)
    group_id = config.vk_group_id if config is not None else None
    if group_id is None:
        return PollResult(user_id, problem="не выбрано сообщество")
    now = utcnow()
    try:
        first = execute_write(rt.sessions, lambda s: _claim(s, user_id, group_id, now, force=force))
    except IntegrityError:  # another sidecar made the row a moment ago
        return PollResult(user_id)
    if first is False:
        return PollResult(user_id)
    provider = rt.providers.offering(GOODS, parts.target)
    try:
        if view is None or provider is None:
            raise ProviderError(f"{parts.target_title} не подключён", permanent=True, code="not_connected")
        target = goods_target(rt, provider, view)
        known = set(execute_read(rt.sessions, lambda s: list(s.scalars(select(ShopOrder.order_id).where(
            ShopOrder.user_id == user_id, ShopOrder.group_id == group_id)))))
        new, seen = _read(target, group_id, known)
    except ProviderError as error:
        _set_problem(rt, user_id, error.reason)
        return PollResult(user_id, problem=error.reason)
    return execute_write(rt.sessions, lambda s: store_orders(s, user_id, group_id, view.id if view else None,
                                                        parts.target, new, seen, tell=first is not None))


def _set_problem(rt: Runtime, user_id: int, problem: str) -> None:
    def write(session: Session) -> None:
        row = session.get(ShopOrderPoll, user_id)
        if row is not None:
            row.problem = problem[:500]

    execute_write(rt.sessions, write)


def store_orders(session: Session, user_id: int, group_id: int, connection_id: int | None, provider: str,
           new: list[Order], seen: list[Order], *, tell: bool) -> PollResult:
    stored = {row.order_id: row for row in session.scalars(select(ShopOrder).where(
        ShopOrder.user_id == user_id, ShopOrder.group_id == group_id,
        ShopOrder.order_id.in_([o.id for o in [*new, *seen]])))}
    updated = told = added = 0
    for order in seen:
        row = stored.get(order.id)
        if row is not None and row.status != order.status:
            row.status = order.status
            updated += 1
    for order in new:
        if order.id in stored:
            continue
        session.add(ShopOrder(user_id=user_id, group_id=group_id, order_id=order.id, buyer_id=order.buyer_id,
                              number=order.number, placed_at=datetime.fromtimestamp(order.placed_at, UTC),
                              status=order.status, comment=order.comment, total_kopecks=order.total_kopecks,
                              lines=[_line(line) for line in order.lines], seen_at=utcnow()))
        added += 1
        if tell:
            record(session, events.order_new(user_id, provider, connection_id, number=order.number,
                                             total_kopecks=order.total_kopecks,
                                             items=sum(line.quantity for line in order.lines),
                                             comment=order.comment))
            told += 1
    poll = session.get(ShopOrderPoll, user_id)
    if poll is not None:
        poll.problem = ""
    return PollResult(user_id, new=added, updated=updated, told=told)


def poll_due(rt: Runtime, *, should_stop: Callable[[], bool] | None = None) -> list[PollResult]:
    """Poll every due user's community, one after the other."""
    with rt.sessions() as session:
        users = due_users(session)
    results = []
    for user_id in users:
        if should_stop is not None and should_stop():
            break
        try:
            results.append(poll_user(rt, user_id))
        except Exception:  # one user's failure must not stop the others
            log.exception("orders: polling user %s failed", user_id)
    return results
