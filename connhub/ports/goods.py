"""The goods port: a shop's goods at a target provider (`GoodsTarget`), and what can go wrong, as data.

The sync publishes through a `GoodsTarget` and never sees a provider's own error codes: each
failure is a `GoodsError` whose `kind` says what the sync does about it. A provider maps its codes
to these kinds in its own folder (for VK: `connhub/providers/vk/goods_errors.py`).

Batches: `add`, `edit`, `hide`, `delete` and `upload_photos` take at most `batch_size` entries and
answer one result per entry, in order (an id, None for done, or that entry's `GoodsError`); a
failure of the whole request raises `GoodsError`. An `add` whose answer was lost is never repeated
by the target: the sync finds out what happened on its next listing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from connhub.ports.errors import ProviderError


class GoodsErrorKind(enum.StrEnum):
    TRANSIENT = "transient"  # provider trouble: the target retried already; try again later
    RATE_LIMITED = "rate_limited"  # a request or daily limit: try again later
    NEEDS_USER = "needs_user"  # a dead token, a missing right, goods switched off, blocked, a limit: stop
    FIX_NAME = "fix_name"  # the data needs fixing: a shorter name
    FIX_LINKS = "fix_links"  # the data needs fixing: no links in the description
    FIX_DESCRIPTION = "fix_description"  # the data needs fixing: a longer description (or other fields)
    FIX_PHOTO = "fix_photo"  # the data needs fixing: another photo
    ITEM_GONE = "item_gone"  # the item is gone from the shop (deleted by hand): make it again
    ALREADY = "already"  # the call's goal already holds
    FAILED = "failed"  # anything else: this one entry failed; report it and go on
    PHOTOS_OFF = "photos_off"  # the target stopped uploading photos for this run (its reason says why, once)
    NOT_OFFERED = "not_offered"  # the shop does not offer this feature (VK: variants on the basic market)

    @property
    def stops_run(self) -> bool:
        return self is GoodsErrorKind.NEEDS_USER

    @property
    def needs_fix(self) -> bool:
        return self in FIXES


FIXES = frozenset({GoodsErrorKind.FIX_NAME, GoodsErrorKind.FIX_LINKS, GoodsErrorKind.FIX_DESCRIPTION,
                   GoodsErrorKind.FIX_PHOTO})


class GoodsError(ProviderError):
    """A goods call (or one entry of a batch) failed. `reason` is Russian; `label` is the provider's
    own tag for the failure (shown to people as «код …», never branched on)."""

    def __init__(self, reason: str, kind: GoodsErrorKind, *, label: str = "",
                 retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(reason, permanent=permanent, code=f"goods_{kind.value}", retry_after=retry_after)
        self.kind = kind
        self.label = label

    @property
    def stops_run(self) -> bool:
        return self.kind.stops_run

    def shown(self) -> str:
        """The reason as a failure list shows it."""
        return f"{self.reason} (код {self.label})" if self.label else self.reason


@dataclass(frozen=True)
class Community:
    """A place goods can be published to (a VK community), with whether its goods are on."""

    id: int
    name: str
    goods_enabled: bool


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    children: tuple[Category, ...] = ()


@dataclass(frozen=True)
class ItemLooks:
    """What the shop shows of an item now, to compare with what the sync last wrote (hand edits)."""

    title: str
    description: str
    price_kopecks: int | None


@dataclass(frozen=True)
class ListedItem:
    """An item the shop holds. `sku` is what the sync wrote there (its product id) or anyone else's;
    `looks`, when the target reads it back, is what the item shows now."""

    id: int
    sku: str
    hidden: bool = False
    looks: ItemLooks | None = None
    grouping: int | None = None  # the item group (variants) it is in, when the target says


@dataclass(frozen=True)
class ListedAlbum:
    """An album (a VK «подборка») of the community, made by anyone; the main «all items» one is left out."""

    id: int
    title: str
    count: int = 0


@dataclass(frozen=True)
class ListedProperty:
    """A property of the community's items (VK «Цвет», «Размер») and its variants by title."""

    id: int
    title: str
    variants: Mapping[str, int] = field(default_factory=dict)  # title → variant id


@dataclass(frozen=True)
class OrderLine:
    """One line of a buyer's order: the item's `sku` (an Evotor product id when the sync made it)."""

    item_id: int
    title: str
    sku: str
    quantity: int
    price_kopecks: int | None


@dataclass(frozen=True)
class Order:
    """A buyer's order in the community. `status` is the provider's code mapped to the port's words
    (new, agreed, assembling, delivering, completed, cancelled, returned, or "" when unknown)."""

    id: int
    buyer_id: int
    number: str  # what the shop shows as the order's number
    placed_at: int  # unix seconds
    status: str
    comment: str
    total_kopecks: int | None
    lines: tuple[OrderLine, ...] = ()


@dataclass(frozen=True)
class Draft:
    """An item as the sync wants it: its fields (name, description, price, category_id, sku, …) and
    its main photo."""

    fields: Mapping[str, Any]
    photo_id: int | None = None


@dataclass(frozen=True)
class PhotoFile:
    filename: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Photo:
    """A photo to upload, made only when the target uploads it: a batch holds one image in memory at
    a time, never all of them. `open` raises `GoodsError` when the image cannot be had."""

    open: Callable[[], PhotoFile] = field(repr=False)


class GoodsTarget(Protocol):
    """One account's goods at a target provider. Every failure is a `GoodsError`."""

    service: str  # the provider's name, for the reasons a user reads ("ВКонтакте")
    batch_size: int  # the most entries one batch call takes

    @property
    def requests(self) -> int:
        """The requests made so far through this object (retries included)."""

    @property
    def write_deadline(self) -> float:
        """Seconds after it was sent that a write may still take effect at the target."""

    def communities(self) -> list[Community]:
        """The places the account may publish to."""

    def categories(self) -> list[Category]:
        """The category tree (new items go into a leaf)."""

    def items(self, community_id: int) -> list[ListedItem]:
        """Every item of the community, hidden ones too; stops at a plausible page bound."""

    def add(self, community_id: int, drafts: Sequence[Draft]) -> list[int | GoodsError]:
        """New items: each entry's new item id, or its error."""

    def edit(self, community_id: int, edits: Sequence[tuple[int, Draft]]) -> list[GoodsError | None]:
        """(item id, draft) each: the full field set is sent."""

    def hide(self, community_id: int, items: Sequence[tuple[int, Mapping[str, Any]]]) -> list[GoodsError | None]:
        """(item id, its last fields) each: hidden from buyers, kept in the shop."""

    def delete(self, community_id: int, item_ids: Sequence[int]) -> list[GoodsError | None]:
        """Deleted items (an item already gone counts as deleted by the caller)."""

    def upload_photos(self, community_id: int, photos: Sequence[Photo]) -> list[int | GoodsError]:
        """Each photo's id for `Draft.photo_id`, or its error."""

    # --- albums (docs/vk-goods.md, «Shop options»); a target without albums answers NEEDS_USER -----

    def albums(self, community_id: int) -> list[ListedAlbum]:
        """The community's albums (never the main one)."""

    def add_albums(self, community_id: int, titles: Sequence[str]) -> list[int | GoodsError]:
        """New albums: each one's id, or its error. A lost answer is never repeated (adopt by title)."""

    def rename_albums(self, community_id: int, renames: Sequence[tuple[int, str]]) -> list[GoodsError | None]:
        """(album id, new title) each."""

    def delete_albums(self, community_id: int, album_ids: Sequence[int]) -> list[GoodsError | None]:
        """Deleted albums (their items stay in the shop)."""

    def add_to_albums(self, community_id: int, placements: Sequence[tuple[int, Sequence[int]]],
                      ) -> list[GoodsError | None]:
        """(album id, item ids) each: the items put into the album; "already there" is ALREADY."""

    def remove_from_albums(self, community_id: int, removals: Sequence[tuple[int, int]]) -> list[GoodsError | None]:
        """(album id, item id) each: the item taken out of the album (it stays in the shop)."""

    # --- variants (docs/vk-goods.md); a market without them answers NOT_OFFERED -------------------

    def properties(self, community_id: int) -> list[ListedProperty]:
        """The community's properties with their variants."""

    def add_properties(self, community_id: int, titles: Sequence[str]) -> list[int | GoodsError]:
        """New properties: each one's id, or its error (no idempotency key: list, then adopt by title)."""

    def add_variants(self, community_id: int, variants: Sequence[tuple[int, str]]) -> list[int | GoodsError]:
        """(property id, title) each: the new variant's id, or its error."""

    def group_items(self, community_id: int, groups: Sequence[tuple[Sequence[int], int | None]],
                    ) -> list[int | GoodsError]:
        """(item ids, existing group id or None) each: the item group's id, or its error."""

    # --- orders (docs/vk-goods.md, «Orders»); a market without orders answers NEEDS_USER ----------

    def orders(self, community_id: int, *, offset: int, count: int) -> tuple[int, list[Order]]:
        """One page of the community's orders, newest first (their lines not read): (total, orders)."""

    def order_lines(self, orders: Sequence[Order]) -> list[tuple[OrderLine, ...] | GoodsError]:
        """Each order's lines, or its error."""
