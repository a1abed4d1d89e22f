"""The sandbox's VK orders: `market.getGroupOrders` (newest first, `count` 1–50) and
`market.getOrderItems`, with VK's rules (docs/vk-goods.md, «Orders»): orders need the extended
market («Магазин 2.0»); a community switched to the basic market answers 1409; an unknown order
1436. Orders are placed "by a buyer" through the control API (`/_sandbox/vk/orders`), never
through the API, as on VK. Statuses are VK's numbers: 0 new, 1 agreed, 2 assembling, 3 delivering,
4 completed, 5 cancelled, 6 returned.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from connhub.providers.vk.sandbox.constants import COMMUNITIES, VK, VK_ACCOUNTS
from connhub.providers.vk.sandbox.model import ApiFailure, Caller, to_int
from connhub.sandbox.web import BadRequest, Request, Response, json_response

if TYPE_CHECKING:
    from connhub.providers.vk.sandbox.goods import GoodsState
    from connhub.sandbox.state import SandboxState

FIRST_ORDER_ID = 5000
PAGE_MAX = 50
STATUSES = range(0, 7)
DEFAULT_BUYER = list(VK_ACCOUNTS)[-1]  # a demo user who is not the communities' owner


@dataclass
class OrderLine:
    item_id: int
    title: str
    sku: str
    price: Decimal  # rubles
    quantity: int


@dataclass
class Order:
    id: int
    group_id: int
    user_id: int
    date: int
    status: int
    comment: str
    lines: list[OrderLine] = field(default_factory=list)

    @property
    def total_kopecks(self) -> int:
        return sum(int(line.price * 100) * line.quantity for line in self.lines)


def _price(kopecks: int) -> dict[str, Any]:
    return {"amount": str(kopecks), "currency": {"id": 643, "name": "RUB", "title": "Российский рубль"},
            "text": f"{kopecks // 100} ₽"}


class OrderBook:
    """Every community's orders, and which communities have only the basic market."""

    def __init__(self) -> None:
        self.orders: dict[int, Order] = {}
        self.basic: set[int] = set()  # communities on the basic market (1409 for orders and variants)
        self._next = FIRST_ORDER_ID

    def place(self, group_id: int, user_id: int, lines: list[OrderLine], *, comment: str = "",
              status: int = 0) -> Order:
        if status not in STATUSES:
            raise ValueError("status must be 0..6")
        order = Order(self._next, group_id, user_id, int(time.time()), status, comment, lines)
        self._next += 1
        self.orders[order.id] = order
        return order

    def of(self, group_id: int) -> list[Order]:
        """Newest first, as VK lists them."""
        return sorted((o for o in self.orders.values() if o.group_id == group_id), key=lambda o: -o.id)



def require_extended(state: GoodsState, group_id: int) -> None:
    """Orders and variants need the extended market: the basic one answers 1409."""
    if group_id in state.orders.basic:
        raise ApiFailure(1409)


def order_json(order: Order) -> dict[str, Any]:
    preview = [{"owner_id": -order.group_id, "item_id": line.item_id, "title": line.title,
                "quantity": line.quantity, "price": _price(int(line.price * 100))} for line in order.lines[:3]]
    return {"id": order.id, "group_id": order.group_id, "user_id": order.user_id,
            "display_order_id": f"{order.user_id}-{order.id}", "date": order.date, "status": order.status,
            "items_count": sum(line.quantity for line in order.lines), "total_price": _price(order.total_kopecks),
            "comment": order.comment, "preview_order_items": preview, "is_viewed_by_admin": False}


def line_json(order: Order, line: OrderLine) -> dict[str, Any]:
    kopecks = int(line.price * 100)
    return {"owner_id": -order.group_id, "item_id": line.item_id, "title": line.title, "quantity": line.quantity,
            "price": _price(kopecks), "variants": [],
            "item": {"id": line.item_id, "owner_id": -order.group_id, "title": line.title, "sku": line.sku,
                     "price": _price(kopecks)}}


def _page(params: dict[str, str], name: str, default: int, top: int) -> int:
    value = to_int(params.get(name)) if params.get(name) else default
    if value is None or not 0 <= value <= top:
        raise ApiFailure(100, f"One of the parameters specified was missing or invalid: {name}")
    return value


def _get_group_orders(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("group_id"), negative=False)
    require_extended(state, group_id)
    offset, count = _page(params, "offset", 0, 10**9), _page(params, "count", 10, PAGE_MAX)
    if count < 1:
        raise ApiFailure(100, "One of the parameters specified was missing or invalid: count")
    orders = state.orders.of(group_id)
    return {"count": len(orders), "items": [order_json(o) for o in orders[offset:offset + count]]}


def _get_order_items(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    order = state.orders.orders.get(to_int(params.get("order_id")) or -1)
    if order is None or order.user_id != to_int(params.get("user_id")):
        raise ApiFailure(1436)
    state._market_group(caller, str(order.group_id), negative=False)
    require_extended(state, order.group_id)
    offset, count = _page(params, "offset", 0, 10**9), _page(params, "count", 50, 200)
    return {"count": len(order.lines), "items": [line_json(order, line) for line in order.lines[offset:offset + count]]}


ORDER_METHODS = {
    "market.getGroupOrders": _get_group_orders,
    "market.getOrderItems": _get_order_items,
}


def control_orders(state: SandboxState, request: Request) -> Response:
    """GET ?group_id=: the community's orders; POST {group_id, items: [{item_id, quantity}], comment?,
    status?, user_id?}: an order placed by a buyer (items must be the community's, not deleted);
    POST {group_id, status, order_id}: the seller changed its status; POST {group_id, market: basic|advanced}:
    the community's market mode (basic: 1409 for orders)."""
    goods: GoodsState = state.extra(VK)
    with goods._lock:
        if request.method == "GET":
            group_id = to_int(request.params.get("group_id", ""))
            if group_id is None:
                raise BadRequest("group_id must be an integer")
            return json_response({"orders": [order_json(o) for o in goods.orders.of(group_id)]})
        body = request.json()
        group_id = to_int(body.get("group_id"))
        if group_id not in COMMUNITIES:
            raise BadRequest("group_id must be a sandbox community")
        if "market" in body:
            if body["market"] not in ("basic", "advanced"):
                raise BadRequest("market must be basic or advanced")
            (goods.orders.basic.add if body["market"] == "basic" else goods.orders.basic.discard)(group_id)
            return json_response({"basic": sorted(goods.orders.basic)})
        if "order_id" in body:
            order = goods.orders.orders.get(to_int(body["order_id"]) or -1)
            changed = to_int(body.get("status"))
            if order is None or order.group_id != group_id or changed is None or changed not in STATUSES:
                raise BadRequest("no such order, or status not 0..6")
            order.status = changed
            return json_response({"id": order.id})
        lines = []
        for entry in body.get("items") or []:
            item = goods.items.get(to_int(entry.get("item_id")) or -1) if isinstance(entry, dict) else None
            quantity = to_int(entry.get("quantity", 1)) if isinstance(entry, dict) else None
            if item is None or item.group_id != group_id or item.deleted or not quantity or quantity < 1:
                raise BadRequest("each item must be {item_id, quantity} of an item of the community")
            lines.append(OrderLine(item.id, item.title, item.sku or "", item.price, quantity))
        if not lines:
            raise BadRequest("an order needs at least one item")
        status = to_int(body.get("status", 0))
        if status is None or status not in STATUSES:
            raise BadRequest("status must be 0..6")
        order = goods.orders.place(group_id, to_int(body.get("user_id")) or int(DEFAULT_BUYER), lines,
                                   comment=str(body.get("comment") or ""), status=status)
        return json_response({"id": order.id, "display_order_id": order_json(order)["display_order_id"]})
