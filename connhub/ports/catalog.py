"""What a catalog provider hands the refresh engine: plain records, one page per request.

A provider that offers a catalog implements `CatalogSource` for one account (its client parses its
own JSON into these records). The engine drives the paging: a page whose `next_cursor` is None
ends a series; a short page does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Protocol, TypeVar


@dataclass(frozen=True, slots=True)
class StoreRecord:
    id: str
    name: str
    address: str | None = None


@dataclass(frozen=True, slots=True)
class GroupRecord:
    id: str
    name: str
    parent_id: str | None = None  # None: at the catalog root
    # Present (even empty) on a modification group: it holds only modifications.
    attributes: list[Any] | None = None
    barcodes: list[str] | None = None

    @property
    def is_modification_group(self) -> bool:
        return self.attributes is not None


@dataclass(frozen=True, slots=True)
class ProductRecord:
    """A product or modification. None means the provider did not send the field."""

    id: str
    name: str
    group_id: str | None = None
    code: str | None = None
    article: str | None = None
    barcodes: list[str] | None = None
    price: Decimal | None = None
    cost_price: Decimal | None = None
    quantity: Decimal | None = None
    measure: str | None = None
    type: str | None = None
    allow_to_sell: bool | None = None
    tax: str | None = None
    attributes_choices: dict[str, str] | None = None
    description: str | None = None
    updated_at: datetime | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    skipped: int = 0  # malformed items left out: one bad item never costs the page
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RefreshBounds:
    """How much one refresh may read before it stops and says which bound stopped it. A provider's
    catalog carries its own (`CatalogSource.bounds`, from its settings); these are the defaults."""

    max_pages: int = 1000  # pages of every series of every store, the store list included
    max_requests: int = 1500  # pages plus the retries of rate-limited ones
    max_seconds: float = 600.0
    max_items: int = 100_000  # records read (stores, groups, products): what the refresh holds (~2 KB each)


class CatalogSource(Protocol):
    """One account's catalog at a provider. Every method is exactly one request.

    Failures are `connhub.ports.errors.ProviderError`; a rate limit is code "http_429" with
    `retry_after` (seconds) from the provider's reset header.
    """

    service: str  # the provider's name, for the reasons a user reads ("Эвотор")
    bounds: RefreshBounds  # what one refresh may read

    def stores(self) -> list[StoreRecord]: ...

    def stores_page(self, cursor: str | None) -> Page[StoreRecord]: ...

    def groups_page(self, store_id: str, cursor: str | None) -> Page[GroupRecord]: ...

    def products_page(self, store_id: str, cursor: str | None) -> Page[ProductRecord]: ...
