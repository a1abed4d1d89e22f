"""Evotor's catalog through the v2 API: stores, product groups and products, one page per request.

Paging (reference E1): `{"items": [...], "paging": {"next_cursor": "..."}}`; the next page is asked
with `?cursor=<next_cursor>`; a `paging` without `next_cursor` ends the series (a short page does
not). Omitted fields are never null (E2): a missing key is stored as absent. Status codes: 401/402
need the user, 403 names the missing right, 429 carries `X-RateLimit-Reset`, the rest is provider
trouble.

Every record is cleaned here, at the boundary, so one bad record never costs a page or a refresh:
NUL characters and lone surrogates are removed from all text (PostgreSQL stores neither), text is
cut to its column's length (read from the models), and a record that cannot be stored faithfully
(no id, an id or group reference longer than its column, a price, cost or quantity outside what a
BIGINT of thousandths holds, a malformed field) is left out of its page with a reason in Russian.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import requests
from sqlalchemy import Column, String, Table

from connhub.crypto import Secret
from connhub.models import CatalogGroup, CatalogProduct, CatalogStore
from connhub.ports.catalog import GroupRecord, Page, ProductRecord, RefreshBounds, StoreRecord
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
    """One account's catalog (implements connhub.ports.catalog.CatalogSource)."""

    service = SERVICE

    def __init__(self, api_url: str, token: Secret, *, timeout: float,
                 bounds: RefreshBounds | None = None) -> None:
        self._api_url = api_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self.bounds = bounds or RefreshBounds()

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

    def stores_page(self, cursor: str | None) -> Page[StoreRecord]:
        """One page of the store list (one page in practice); the refresh engine pages it, bounded."""
        return parse_page(self._get("/stores", "stores", {"cursor": cursor} if cursor else None), parse_store)

    def stores(self) -> list[StoreRecord]:
        """The whole store list, for callers outside a refresh job: the same bounds and repeat check."""
        stores: list[StoreRecord] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(self.bounds.max_pages):
            page = self.stores_page(cursor)
            stores.extend(page.items)
            if page.next_cursor is None:
                return stores
            if page.next_cursor in seen:
                raise ProviderError(f"{SERVICE} отдаёт одну и ту же страницу снова и снова", permanent=False,
                                    code="cursor_loop")
            seen.add(page.next_cursor)
            cursor = page.next_cursor
        raise ProviderError(f"{SERVICE} отдал больше {self.bounds.max_pages} страниц списка магазинов",
                            permanent=False, code="too_many_pages")

    def groups_page(self, store_id: str, cursor: str | None) -> Page[GroupRecord]:
        return self._page(store_id, "product-groups", cursor, parse_group)

    def products_page(self, store_id: str, cursor: str | None) -> Page[ProductRecord]:
        return self._page(store_id, "products", cursor, parse_product)


# --- parsing ---------------------------------------------------------------------------------


class BadItem(ValueError):
    """A record that cannot be stored faithfully; the message (Russian) says why."""


# A Thousandths column is a BIGINT of thousandths (connhub.models.Thousandths).
MAX_THOUSANDTHS = 2**63 - 1
NUMBER_TITLES = {"price": "цена", "cost_price": "себестоимость", "quantity": "остаток"}
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates: PostgreSQL stores neither
MAX_PROBLEM_NAME = 60
MAX_SHOWN_VALUE = 24  # how much of a rejected number a problem quotes
MAX_JSON_DEPTH = 32  # nesting kept in a JSON field (group attributes); deeper is not a catalog


def _length(column: Column[Any]) -> int | None:
    """The column's length in characters, from the model (None: unbounded text)."""
    return column.type.length if isinstance(column.type, String) else None


_PRODUCT_TABLE: Table = CatalogProduct.__table__  # type: ignore[assignment]
_GROUP_TABLE: Table = CatalogGroup.__table__  # type: ignore[assignment]
_STORE_TABLE: Table = CatalogStore.__table__  # type: ignore[assignment]
_PRODUCT, _GROUP, _STORE = _PRODUCT_TABLE.c, _GROUP_TABLE.c, _STORE_TABLE.c


def clean(value: str, limit: int | None = None) -> str:
    """Text as the database can keep it: without NULs and lone surrogates, cut to `limit`."""
    value = _UNSTORABLE.sub("", value)
    return value if limit is None else value[:limit]


def _clean_any(value: Any, depth: int = 0) -> Any:
    """Every string inside a JSON value cleaned (the value is stored as JSON as it came)."""
    if depth > MAX_JSON_DEPTH:
        raise BadItem("слишком глубокая вложенность")
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_clean_any(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {clean(str(k)): _clean_any(v, depth + 1) for k, v in value.items()}
    return value


def describe(raw: Any, noun: str) -> str:
    """How a left-out record is named in a report: «товар «Чай» (p-1)»."""
    if not isinstance(raw, dict):
        return f"{noun} (не объект)"
    ident, name = raw.get("id"), raw.get("name")
    shown_id = clean(str(ident))[:64] if isinstance(ident, str | int) and not isinstance(ident, bool) else "без id"
    if isinstance(name, str) and clean(name).strip():
        cut = clean(name).strip()
        cut = cut if len(cut) <= MAX_PROBLEM_NAME else cut[:MAX_PROBLEM_NAME - 1] + "…"
        return f"{noun} «{cut}» ({shown_id})"
    return f"{noun} {shown_id}"


NOUNS = {"parse_product": "товар", "parse_group": "группа", "parse_store": "магазин"}


def parse_page(body: Any, parse: Callable[[Mapping[str, Any]], T]) -> Page[T]:
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise ProviderError("Эвотор прислал непонятный ответ", permanent=False, code="bad_body_200")
    paging = body.get("paging")
    next_cursor = paging.get("next_cursor") if isinstance(paging, dict) else None
    if next_cursor is not None and (not isinstance(next_cursor, str) or not next_cursor):
        raise ProviderError("Эвотор прислал непонятный курсор", permanent=False, code="bad_cursor")
    noun = NOUNS.get(getattr(parse, "__name__", ""), "запись")
    items: list[T] = []
    problems: list[str] = []
    for raw in body["items"]:
        try:
            if not isinstance(raw, dict):
                raise BadItem("не объект")
            items.append(parse(raw))
        except BadItem as error:
            problems.append(f"{describe(raw, noun)}: {error}")
        except (ValueError, TypeError, ArithmeticError, RecursionError):
            problems.append(f"{describe(raw, noun)}: непонятная запись")
    return Page(items, next_cursor, skipped=len(problems), problems=problems)


def _text(item: Mapping[str, Any], key: str, limit: int | None = None, *, required: bool = False) -> str | None:
    if key not in item:
        if required:
            raise BadItem(f"нет поля {key}")
        return None
    value = item[key]
    if value is None:
        if required:
            raise BadItem(f"пустое поле {key}")
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise BadItem(f"поле {key} не текст")
    return clean(str(value), limit)


def _ident(item: Mapping[str, Any], key: str, column: Column[Any], *, required: bool = False) -> str | None:
    """An id or a reference to one: kept exactly or not at all (a cut id would name another record)."""
    value = item.get(key)
    if value is None:
        if required:
            raise BadItem("нет идентификатора")
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise BadItem(f"поле {key} не текст")
    text = str(value)
    limit = _length(column)
    if not text or _UNSTORABLE.search(text) or (limit is not None and len(text) > limit):
        what = "идентификатор" if key == "id" else "ссылка на группу"
        raise BadItem(f"{what} длиннее {limit} символов или с недопустимыми знаками")
    return text


def _decimal(item: Mapping[str, Any], key: str) -> Decimal | None:
    value = item.get(key)
    if value is None:
        return None
    title = NUMBER_TITLES.get(key, key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadItem(f"{title} не число")
    try:
        number = Decimal(str(value))  # str() of a float is its shortest exact repr: 123.12 stays 123.12
    except InvalidOperation:
        raise BadItem(f"{title} не число") from None
    if not number.is_finite():
        raise BadItem(f"{title} не число")
    if abs(number) * 1000 > MAX_THOUSANDTHS:
        shown = clean(str(value))
        shown = shown if len(shown) <= MAX_SHOWN_VALUE else shown[:MAX_SHOWN_VALUE - 1] + "…"
        raise BadItem(f"{title} {shown} вне допустимого диапазона")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3:  # more precision than Evotor keeps: round to 3
        number = number.quantize(Decimal("0.001"))
    return number


def _strings(item: Mapping[str, Any], key: str) -> list[str] | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise BadItem(f"поле {key} не список")
    return [clean(str(v)) for v in value if isinstance(v, str | int) and not isinstance(v, bool)]


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
    store_id = _ident(item, "id", _STORE.store_id, required=True)
    assert store_id is not None
    return StoreRecord(store_id, _text(item, "name", _length(_STORE.name)) or store_id,
                       _text(item, "address", _length(_STORE.address)))


def parse_group(item: Mapping[str, Any]) -> GroupRecord:
    group_id = _ident(item, "id", _GROUP.id, required=True)
    assert group_id is not None
    attributes = item.get("attributes")
    if attributes is not None and not isinstance(attributes, list):
        raise BadItem("поле attributes не список")
    return GroupRecord(group_id, _text(item, "name", _length(_GROUP.name)) or "",
                       _ident(item, "parent_id", _GROUP.parent_id),
                       _clean_any(attributes), _strings(item, "barcodes"))


def parse_product(item: Mapping[str, Any]) -> ProductRecord:
    product_id = _ident(item, "id", _PRODUCT.id, required=True)
    assert product_id is not None
    allow = item.get("allow_to_sell")
    choices = item.get("attributes_choices")
    if choices is not None and not isinstance(choices, dict):
        raise BadItem("поле attributes_choices не объект")
    return ProductRecord(
        id=product_id,
        name=_text(item, "name", _length(_PRODUCT.name)) or "",
        group_id=_ident(item, "parent_id", _PRODUCT.group_id),
        code=_text(item, "code", _length(_PRODUCT.code)),
        article=_text(item, "article_number", _length(_PRODUCT.article)),
        barcodes=_strings(item, "barcodes"),
        price=_decimal(item, "price"),
        cost_price=_decimal(item, "cost_price"),
        quantity=_decimal(item, "quantity"),
        measure=_text(item, "measure_name", _length(_PRODUCT.measure)),
        type=_text(item, "type", _length(_PRODUCT.type)),
        allow_to_sell=allow if isinstance(allow, bool) else None,
        tax=_text(item, "tax", _length(_PRODUCT.tax)),
        attributes_choices=({clean(str(k)): clean(str(v)) for k, v in choices.items()}
                            if choices is not None else None),
        description=_text(item, "description", _length(_PRODUCT.description)),
        updated_at=_when(item, "updated_at"),
    )
