"""Evotor's catalog through the v2 API: stores, product groups and products, one page per request.

Paging (reference E1): `{"items": [...], "paging": {"next_cursor": "..."}}`; the next page is asked
with `?cursor=<next_cursor>`; a `paging` without `next_cursor` ends the series (a short page does
not). Omitted fields are never null (E2): a missing key is stored as absent. One malformed item is
left out of its page and counted; it never costs the page. Status codes: 401/402 need the user,
403 names the missing right, 429 carries `X-RateLimit-Reset`, the rest is provider trouble.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import requests

from connhub.catalog.source import GroupRecord, Page, ProductRecord, StoreRecord
from connhub.crypto import Secret
from connhub.providers import http
from connhub.providers.base import ProviderError

SERVICE = "Эвотор"
ACCEPT_V2 = "application/vnd.evotor.v2+json"
# A page holds up to 1000 products with free-text descriptions: far more than an account answer,
# so the catalog lists get their own cap instead of http.MAX_BODY_BYTES.
PAGE_MAX_BYTES = 32 << 20
PAGE_LIMIT = 1000

# The right each catalog call needs (reference E1), named when Evotor answers 403.
RIGHTS = {"stores": "store:read", "product-groups": "product-group:read", "products": "product:read"}
RIGHT_TITLES = {"store:read": "чтение магазинов", "product-group:read": "чтение групп товаров",
                "product:read": "чтение товаров"}

T = TypeVar("T")


def missing_right_reason(right: str) -> str:
    return (f"Токену Эвотор не хватает права «{right}» ({RIGHT_TITLES.get(right, right)}) — "
            "выдайте его приложению и подключите заново")


def refuse_access_errors(response: requests.Response, right: str) -> None:
    """Raise for the answers that mean the token, the app or a right (`right`) is wanting, or that
    Evotor asks us to slow down; every catalog and image call reads them the same way."""
    status = response.status_code
    if status == 401:
        raise ProviderError("Эвотор отклонил токен — подключите заново", permanent=True, code="http_401")
    if status == 402:
        raise ProviderError("Приложение не установлено или не оплачено в Эвотор", permanent=True,
                            code="http_402")
    if status == 403:
        raise ProviderError(missing_right_reason(right), permanent=True, code="http_403")
    if status == 429:
        raise ProviderError("Эвотор ограничил частоту запросов", permanent=False, code="http_429",
                            retry_after=http.retry_after_seconds(response, "X-RateLimit-Reset", "Retry-After"))


class EvotorCatalog:
    """One account's catalog (implements connhub.catalog.source.CatalogSource)."""

    service = SERVICE

    def __init__(self, api_url: str, token: Secret, *, timeout: float) -> None:
        self._api_url = api_url.rstrip("/")
        self._token = token
        self._timeout = timeout

    def _get(self, path: str, resource: str, params: Mapping[str, Any] | None) -> Any:
        response = http.get(
            f"{self._api_url}{path}",
            headers={"Authorization": f"Bearer {self._token.reveal()}", "Accept": ACCEPT_V2},
            params=params, timeout=self._timeout, service=SERVICE, max_body=PAGE_MAX_BYTES,
        )
        refuse_access_errors(response, RIGHTS[resource])
        status = response.status_code
        if status == 400 and params and "cursor" in params:
            raise ProviderError("Эвотор не принял курсор страницы", permanent=False, code="bad_cursor")
        if status == 404:
            raise ProviderError("Магазин не найден в Эвоторе", permanent=False, code="http_404")
        if status != 200:
            raise ProviderError(f"Эвотор недоступен (ошибка {status})", permanent=False, code=f"http_{status}")
        return http.json_body(response, SERVICE)

    def _page(self, store_id: str, resource: str, cursor: str | None,
              parse: Callable[[Mapping[str, Any]], T]) -> Page[T]:
        params: dict[str, Any] = {"cursor": cursor} if cursor is not None else {"limit": PAGE_LIMIT}
        body = self._get(f"/stores/{http.segment(store_id)}/{resource}", resource, params)
        return parse_page(body, parse)

    def stores(self) -> list[StoreRecord]:
        stores: list[StoreRecord] = []
        cursor: str | None = None
        while True:  # the store list is one page in practice; follow the cursor all the same
            body = self._get("/stores", "stores", {"cursor": cursor} if cursor else None)
            page = parse_page(body, parse_store)
            stores.extend(page.items)
            if page.next_cursor is None:
                return stores
            cursor = page.next_cursor

    def groups_page(self, store_id: str, cursor: str | None) -> Page[GroupRecord]:
        return self._page(store_id, "product-groups", cursor, parse_group)

    def products_page(self, store_id: str, cursor: str | None) -> Page[ProductRecord]:
        return self._page(store_id, "products", cursor, parse_product)


# --- parsing ---------------------------------------------------------------------------------


class BadItem(ValueError):
    pass


def parse_page(body: Any, parse: Callable[[Mapping[str, Any]], T]) -> Page[T]:
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise ProviderError("Эвотор прислал непонятный ответ", permanent=False, code="bad_body_200")
    paging = body.get("paging")
    next_cursor = paging.get("next_cursor") if isinstance(paging, dict) else None
    if next_cursor is not None and (not isinstance(next_cursor, str) or not next_cursor):
        raise ProviderError("Эвотор прислал непонятный курсор", permanent=False, code="bad_cursor")
    items: list[T] = []
    problems: list[str] = []
    for raw in body["items"]:
        try:
            if not isinstance(raw, dict):
                raise BadItem("not an object")
            items.append(parse(raw))
        except (BadItem, ValueError, TypeError, InvalidOperation) as error:
            ident = raw.get("id") if isinstance(raw, dict) else None
            problems.append(f"{ident or '?'}: {error}")
    return Page(items, next_cursor, skipped=len(problems), problems=problems)


def _text(item: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    if key not in item:
        if required:
            raise BadItem(f"no {key}")
        return None
    value = item[key]
    if value is None:
        if required:
            raise BadItem(f"null {key}")
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise BadItem(f"{key} is not text")
    return str(value)


def _decimal(item: Mapping[str, Any], key: str) -> Decimal | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadItem(f"{key} is not a number")
    number = Decimal(str(value))  # str() of a float is its shortest exact repr: 123.12 stays 123.12
    if not number.is_finite():
        raise BadItem(f"{key} is not finite")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3:  # more precision than Evotor keeps: round to 3
        number = number.quantize(Decimal("0.001"))
    return number


def _strings(item: Mapping[str, Any], key: str) -> list[str] | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise BadItem(f"{key} is not a list")
    return [str(v) for v in value if isinstance(v, str | int)]


def _when(item: Mapping[str, Any], key: str) -> datetime | None:
    value = item.get(key)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)  # 2018-09-11T16:18:35.397+0000 (no colon) parses on 3.11
    except ValueError:
        return None  # a bad timestamp costs the timestamp, not the product
    return parsed if parsed.tzinfo is not None else None


def parse_store(item: Mapping[str, Any]) -> StoreRecord:
    store_id = _text(item, "id", required=True)
    assert store_id is not None
    return StoreRecord(store_id, _text(item, "name") or store_id, _text(item, "address"))


def parse_group(item: Mapping[str, Any]) -> GroupRecord:
    group_id = _text(item, "id", required=True)
    assert group_id is not None
    attributes = item.get("attributes")
    if attributes is not None and not isinstance(attributes, list):
        raise BadItem("attributes is not a list")
    return GroupRecord(group_id, _text(item, "name") or "", _text(item, "parent_id"), attributes,
                       _strings(item, "barcodes"))


def parse_product(item: Mapping[str, Any]) -> ProductRecord:
    product_id = _text(item, "id", required=True)
    assert product_id is not None
    allow = item.get("allow_to_sell")
    choices = item.get("attributes_choices")
    if choices is not None and not isinstance(choices, dict):
        raise BadItem("attributes_choices is not an object")
    return ProductRecord(
        id=product_id,
        name=_text(item, "name") or "",
        group_id=_text(item, "parent_id"),
        code=_text(item, "code"),
        article=_text(item, "article_number"),
        barcodes=_strings(item, "barcodes"),
        price=_decimal(item, "price"),
        cost_price=_decimal(item, "cost_price"),
        quantity=_decimal(item, "quantity"),
        measure=_text(item, "measure_name"),
        type=_text(item, "type"),
        allow_to_sell=allow if isinstance(allow, bool) else None,
        tax=_text(item, "tax"),
        attributes_choices={str(k): str(v) for k, v in choices.items()} if choices is not None else None,
        description=_text(item, "description"),
        updated_at=_when(item, "updated_at"),
    )
