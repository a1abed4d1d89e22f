"""A catalog source double for the catalog engine's tests (the real one is the sandbox over HTTP),
its products, and the refusals a provider answers with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from connhub.ports.catalog import GroupRecord, Page, ProductRecord, RefreshBounds, StoreRecord
from connhub.providers.base import ProviderError

STORE = "20180820-7052-4047-807D-E82C50000000"


@dataclass
class ScriptedSource:
    """Serves fixed pages; `fail_at` maps a request number (1-based) to the error it raises."""

    stores_list: list[StoreRecord]
    groups: dict[str, list[list[GroupRecord]]]
    products: dict[str, list[list[ProductRecord]]]
    fail_at: dict[int, ProviderError] = field(default_factory=dict)
    on_request: Callable[[int], None] | None = None
    calls: list[str] = field(default_factory=list)
    service: str = "Эвотор"
    bounds: RefreshBounds = field(default_factory=RefreshBounds)

    def _request(self, what: str) -> None:
        self.calls.append(what)
        if self.on_request is not None:
            self.on_request(len(self.calls))
        error = self.fail_at.pop(len(self.calls), None)
        if error is not None:
            raise error

    def stores(self) -> list[StoreRecord]:
        self._request("stores")
        return list(self.stores_list)

    def stores_page(self, cursor: str | None) -> Page[StoreRecord]:
        self._request("stores")
        return Page(list(self.stores_list), None)

    def _page(self, pages: list[list], what: str, cursor: str | None) -> Page:
        self._request(f"{what}:{cursor}")
        index = 0 if cursor is None else int(cursor.removeprefix("c"))
        next_cursor = f"c{index + 1}" if index + 1 < len(pages) else None
        return Page(list(pages[index]), next_cursor)

    def groups_page(self, store_id: str, cursor: str | None) -> Page[GroupRecord]:
        return self._page(self.groups.get(store_id, [[]]), f"groups/{store_id}", cursor)

    def products_page(self, store_id: str, cursor: str | None) -> Page[ProductRecord]:
        return self._page(self.products.get(store_id, [[]]), f"products/{store_id}", cursor)


def product(pid: str, name: str | None = None, group: str | None = None, **fields: object) -> ProductRecord:
    values: dict[str, object] = {"price": Decimal("10"), "type": "NORMAL", "allow_to_sell": True,
                                 "measure": "шт"}
    values.update(fields)
    return ProductRecord(id=pid, name=name or f"Товар {pid}", group_id=group, **values)  # type: ignore[arg-type]


def rate_limited(reset: float) -> ProviderError:
    return ProviderError("Слишком много запросов", permanent=False, code="http_429", retry_after=reset)


def forbidden() -> ProviderError:
    return ProviderError("Нет права product:read", permanent=True, code="http_403")
