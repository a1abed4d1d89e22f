"""Catalog (issue 9): the local copy of a catalog provider's stores, groups and products, the
refresh jobs that fill it, and each user's include/exclude rules for the sync.

Product and group ids are unique within a store only, so every key carries the store's snapshot.
Absent provider fields are stored as NULL, never as zero or "".
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from connhub.models.base import Base, Thousandths, UTCDateTime, utcnow


class RuleMode(StrEnum):
    INCLUDE = "include"
    EXCLUDE = "exclude"


class RuleTarget(StrEnum):
    STORE = "store"
    GROUP = "group"
    PRODUCT = "product"


class RefreshSource(StrEnum):
    SCHEDULE = "schedule"
    USER = "user"


class RefreshState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class SnapshotState(StrEnum):
    LOADING = "loading"  # being written by a refresh; nobody reads it
    CURRENT = "current"  # the one a store shows
    RETIRED = "retired"  # replaced; deleted right after the swap


class CatalogStore(Base):
    """A store as the provider listed it at the last refresh of its connection."""

    __tablename__ = "catalog_stores"
    __table_args__ = (UniqueConstraint("connection_id", "store_id", name="uq_catalog_stores_connection_store"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    store_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    address: Mapped[str | None] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer, default=0)  # the provider's order
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CatalogSnapshot(Base):
    """One complete load of a store's groups and products; exactly one is current per store."""

    __tablename__ = "catalog_snapshots"
    __table_args__ = (Index("ix_catalog_snapshots_connection_id_store_id", "connection_id", "store_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    store_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=SnapshotState.LOADING)
    job_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    group_count: Mapped[int] = mapped_column(Integer, default=0)
    product_count: Mapped[int] = mapped_column(Integer, default=0)


class CatalogGroup(Base):
    """A product group; `attributes` present (even empty) marks a modification group."""

    __tablename__ = "catalog_groups"

    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    parent_id: Mapped[str | None] = mapped_column(String(64))  # NULL: at the catalog root
    name: Mapped[str] = mapped_column(String(255))
    is_modification_group: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    barcodes: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))


class CatalogProduct(Base):
    """A product or modification. NULL means the provider did not send the field."""

    __tablename__ = "catalog_products"

    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[str | None] = mapped_column(String(64))  # NULL: at the catalog root
    name: Mapped[str] = mapped_column(String(255))
    code: Mapped[str | None] = mapped_column(String(64))
    article: Mapped[str | None] = mapped_column(String(64))
    barcodes: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    price: Mapped[Decimal | None] = mapped_column(Thousandths)  # rubles, exact
    cost_price: Mapped[Decimal | None] = mapped_column(Thousandths)
    quantity: Mapped[Decimal | None] = mapped_column(Thousandths)  # fractional, may be negative
    measure: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[str | None] = mapped_column(String(64))  # an open string, shown as it came
    allow_to_sell: Mapped[bool | None] = mapped_column(Boolean)
    tax: Mapped[str | None] = mapped_column(String(64))
    attributes_choices: Mapped[dict[str, str] | None] = mapped_column(JSON(none_as_null=True))
    description: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CatalogRefreshJob(Base):
    """A request to refresh one connection's catalog (all stores, or one), and how it went.

    At most one job per connection is unfinished (queued or running) at any time, enforced by a
    partial unique index, so two refreshes of one store never run at once.
    """

    __tablename__ = "catalog_refresh_jobs"
    __table_args__ = (
        Index("uq_catalog_refresh_jobs_active", "connection_id", unique=True,
              sqlite_where=text("finished_at IS NULL"), postgresql_where=text("finished_at IS NULL")),
        Index("ix_catalog_refresh_jobs_connection_id_requested_at", "connection_id", "requested_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    store_id: Mapped[str | None] = mapped_column(String(64))  # NULL: every store of the account
    source: Mapped[str] = mapped_column(String(16))  # schedule | user
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default=RefreshState.QUEUED)
    worker: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    pages_read: Mapped[int] = mapped_column(Integer, default=0)
    items_read: Mapped[int] = mapped_column(Integer, default=0)
    current_store_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str] = mapped_column(String(500), default="")
    error_code: Mapped[str] = mapped_column(String(64), default="")
    # Records left out as unstorable, and the first few things worth telling the user (Russian
    # lines: a left-out product, a group moved to the top because its parents formed a cycle).
    items_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    problems: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))


class CatalogRule(Base):
    """One include/exclude rule of a user for one store; kept when its target leaves the catalog."""

    __tablename__ = "catalog_rules"
    __table_args__ = (
        UniqueConstraint("user_id", "store_id", "target_kind", "target_id", name="uq_catalog_rules_target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    store_id: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str] = mapped_column(String(16))  # store | group | product
    target_id: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))  # include | exclude
    target_name: Mapped[str] = mapped_column(String(255), default="")  # as it was when the rule was made
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
