"""The VK shop options (issue 20): the albums the sync keeps, one per Evotor group; buyers' orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from connhub.models.base import Base, UTCDateTime, utcnow


class SyncAlbum(Base):
    """One album (VK «подборка») the sync keeps for an Evotor group in a community.

    Written with no `album_id` before the album is made (a lost answer is adopted by title on the
    next run); `created` says connhub made it (only those are ever deleted) rather than adopting
    the owner's album of the same title. `items` are the item ids the sync put in it."""

    __tablename__ = "sync_albums"
    __table_args__ = (UniqueConstraint("user_id", "store_id", "group_id", "source_group_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    store_id: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[int] = mapped_column(BigInteger)  # positive VK community id
    source_group_id: Mapped[str] = mapped_column(String(64))  # the Evotor group
    album_id: Mapped[int | None] = mapped_column(BigInteger)  # None: being made
    title: Mapped[str] = mapped_column(String(128))
    created: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    items: Mapped[list[int]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ShopOrder(Base):
    """A buyer's order in the user's community, as the orders poller last read it (connhub.orders).

    `lines` are [{item_id, title, sku, quantity, price_kopecks}]; `sku` is what matches a line back
    to an Evotor product. `status` is the port's word (new, agreed, …; "" unknown)."""

    __tablename__ = "shop_orders"
    __table_args__ = (UniqueConstraint("user_id", "group_id", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(BigInteger)  # positive VK community id
    order_id: Mapped[int] = mapped_column(BigInteger)
    buyer_id: Mapped[int] = mapped_column(BigInteger, default=0)
    number: Mapped[str] = mapped_column(String(64), default="")
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    total_kopecks: Mapped[int | None] = mapped_column(BigInteger)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShopOrderPoll(Base):
    """The orders poller's last look at a user's community: when, and what stopped it ("" none)."""

    __tablename__ = "shop_order_polls"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(BigInteger)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    problem: Mapped[str] = mapped_column(String(500), default="")


class SyncVariant(Base):
    """A property (`variant` "") or one of its variants that the sync uses in a community, by title
    (modifications as variants, connhub.sync.variant_run).

    Written with no `target_id` before it is made; the next run adopts the community's property or
    variant of the same title instead of making a second one. `created`: connhub made it (rather
    than adopting the owner's)."""

    __tablename__ = "sync_variants"
    __table_args__ = (UniqueConstraint("user_id", "group_id", "property", "variant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(BigInteger)  # positive VK community id
    property: Mapped[str] = mapped_column(String(60))
    variant: Mapped[str] = mapped_column(String(60), default="")  # "": the property itself
    target_id: Mapped[int | None] = mapped_column(BigInteger)  # None: being made
    created: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SyncItemGroup(Base):
    """The item group (VK `groupItems`) holding one modification group's items in a community."""

    __tablename__ = "sync_item_groups"
    __table_args__ = (UniqueConstraint("user_id", "store_id", "group_id", "source_group_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    store_id: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[int] = mapped_column(BigInteger)  # positive VK community id
    source_group_id: Mapped[str] = mapped_column(String(64))  # the Evotor modification group
    item_group_id: Mapped[int] = mapped_column(BigInteger)
    items: Mapped[list[int]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
