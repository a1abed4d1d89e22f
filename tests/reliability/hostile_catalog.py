"""Hostile Evotor catalogs for the reliability suite, served by `HostileServer`.

    serve_catalog(hostile, products=[...], groups=[...])      # one store "s-1", one page each
    hostile.answer("GET", PRODUCTS, body=endless_pages(...))  # a new cursor on every page, forever

A body given as a callable is produced anew for each request, so a counter in the closure makes
every page different (the server answers by path; the cursor in the query is not looked at).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

from connhub.models import CatalogRefreshJob
from connhub.runtime import Runtime
from tests.reliability.hostile import HostileServer, json_bytes

STORE = "s-1"
STORES = "/evotor-api/stores"
GROUPS = f"/evotor-api/stores/{STORE}/product-groups"
PRODUCTS = f"/evotor-api/stores/{STORE}/products"
JSON = {"Content-Type": "application/json"}


def product(pid: str, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"id": pid, "name": f"Товар {pid}", "price": 10, "measure_name": "шт",
                            "type": "NORMAL", "allow_to_sell": True}
    item.update(fields)
    return item


def page(items: list[dict[str, Any]], next_cursor: str | None = None) -> dict[str, Any]:
    return {"items": items, "paging": {"next_cursor": next_cursor} if next_cursor else {}}


def serve_catalog(hostile: HostileServer, *, products: list[dict[str, Any]],
                  groups: list[dict[str, Any]] | None = None) -> None:
    """One store, its groups and products, each in one page."""
    hostile.answer("GET", STORES, json_body=page([{"id": STORE, "name": "Чайная"}]))
    hostile.answer("GET", GROUPS, json_body=page(groups or []))
    # ASCII escapes, so a lone surrogate travels as the `\ud800` a provider could send.
    hostile.answer("GET", PRODUCTS, headers=JSON, body=json.dumps(page(products)).encode())


def endless_pages(make_items: Callable[[int], list[dict[str, Any]]]) -> Callable[[], Iterator[bytes]]:
    """A body that is a new page on every request, each naming a cursor never seen before."""
    counter = itertools.count(1)

    def produce() -> Iterator[bytes]:
        number = next(counter)
        yield json_bytes(page(make_items(number), f"cursor-{number}"))

    return produce


def thousand_products(number: int) -> list[dict[str, Any]]:
    """A full page of distinct products with some text in each (what a real big page weighs)."""
    return [product(f"p{number}-{n}", description="Описание " * 20) for n in range(1000)]


def queue_refresh(rt: Runtime, connection_id: int) -> int:
    from connhub.catalog.refresh import request_refresh
    from connhub.models import RefreshSource

    return request_refresh(rt.sessions, connection_id, store_id=None, source=RefreshSource.USER).id


def job(rt: Runtime, job_id: int) -> CatalogRefreshJob:
    with rt.sessions() as session:
        row = session.get(CatalogRefreshJob, job_id)
        assert row is not None
        session.expunge(row)
        return row
