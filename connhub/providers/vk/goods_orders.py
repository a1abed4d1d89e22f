"""VK orders as the `GoodsTarget` order methods: `market.getGroupOrders` (a positive `group_id`,
pages of at most 50, newest first) and `market.getOrderItems` (one call an order, batched through
`execute`, 25 calls a request). Both need the extended market («Магазин 2.0»): the basic one
answers 1409. docs/vk-goods.md, «Orders»."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connhub.ports.goods import GoodsError, GoodsErrorKind, Order, OrderLine
from connhub.providers.vk.api import Call, CallResult, VkApi, VkApiError
from connhub.providers.vk.goods_shapes import as_int, bad_answer

ORDERS_PAGE = 50  # VK's most for getGroupOrders
LINES_PAGE = 200
# VK's order status codes (vk-io's MarketOrderContext; the schema names no values) in the port's words.
STATUSES = {0: "new", 1: "agreed", 2: "assembling", 3: "delivering", 4: "completed", 5: "cancelled", 6: "returned"}


def _kopecks(price: Any) -> int | None:
    return as_int(price.get("amount")) if isinstance(price, dict) else None


def parse_order(raw: Any) -> Order | None:
    if not isinstance(raw, dict) or as_int(raw.get("id")) is None:
        return None
    order_id = as_int(raw.get("id")) or 0
    status = as_int(raw.get("status"))
    return Order(id=order_id, buyer_id=as_int(raw.get("user_id")) or 0,
                 number=str(raw.get("display_order_id") or order_id)[:64],
                 placed_at=as_int(raw.get("date")) or 0,
                 status=STATUSES.get(status, "") if status is not None else "",
                 comment=str(raw.get("comment") or ""), total_kopecks=_kopecks(raw.get("total_price")))


def parse_line(raw: Any) -> OrderLine | None:
    if not isinstance(raw, dict):
        return None
    found = raw.get("item")
    item: dict[str, Any] = found if isinstance(found, dict) else {}
    return OrderLine(item_id=as_int(raw.get("item_id")) or as_int(item.get("id")) or 0,
                     title=str(raw.get("title") or item.get("title") or ""), sku=str(item.get("sku") or ""),
                     quantity=as_int(raw.get("quantity")) or 1, price_kopecks=_kopecks(raw.get("price")))


class VkOrders:
    """The order calls of one token; errors come back as VkApiError (the target converts them)."""

    def __init__(self, api: VkApi) -> None:
        self.api = api

    def page(self, group_id: int, *, offset: int, count: int) -> tuple[int, list[Order]]:
        answer = self.api.call("market.getGroupOrders", {"group_id": group_id, "offset": offset,
                                                         "count": max(1, min(count, ORDERS_PAGE))})
        items = answer.get("items") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise bad_answer("market.getGroupOrders")
        orders = [order for order in (parse_order(raw) for raw in items) if order is not None]
        return as_int(answer.get("count")) or 0, orders

    def lines(self, orders: Sequence[Order]) -> list[CallResult]:
        return self.api.execute([Call("market.getOrderItems", {"user_id": order.buyer_id, "order_id": order.id,
                                                               "count": LINES_PAGE})
                                 for order in orders])


def order_lines(result: CallResult) -> tuple[OrderLine, ...] | GoodsError | VkApiError:
    """The lines of one `market.getOrderItems` result, or its error."""
    if result.error is not None:
        return result.error
    items = result.response.get("items") if isinstance(result.response, dict) else None
    if not isinstance(items, list):
        return GoodsError("ВКонтакте не вернул товары заказа", GoodsErrorKind.FAILED)
    return tuple(line for line in (parse_line(raw) for raw in items) if line is not None)
