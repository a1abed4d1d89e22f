"""The sync (issue 10): each user's configuration, the items and photos it published, the source's
images it fetched, and its runs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from connhub.models.base import Base, UTCDateTime, utcnow


class SyncConfig(Base):
    """One user's sync: what goes where, how, and whether it was switched on deliberately.

    `enabled` is the master toggle; it is only ever set together with `confirmed_at`,
    `confirmed_by` and `confirmed_snapshot` (what the confirmation covered), so later changes
    that alter what would be published can be shown as changed since the confirmation.
    """

    __tablename__ = "sync_configs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)

    evotor_store_id: Mapped[str] = mapped_column(String(64), default="")
    evotor_store_name: Mapped[str] = mapped_column(String(255), default="")
    vk_group_id: Mapped[int | None] = mapped_column(Integer)  # positive community id
    vk_group_name: Mapped[str] = mapped_column(String(255), default="")
    # Whether goods were on in the community when it was last listed (groups.get, fields=market).
    vk_group_goods_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    vk_category_id: Mapped[int | None] = mapped_column(Integer)
    vk_category_name: Mapped[str] = mapped_column(String(255), default="")

    # The policies (connhub.sync.config): hide|delete, hide|publish, skip|publish.
    on_removed: Mapped[str] = mapped_column(String(16), default="hide")
    on_not_for_sale: Mapped[str] = mapped_column(String(16), default="hide")
    on_zero_price: Mapped[str] = mapped_column(String(16), default="skip")
    # An exact decimal with two places, kept as text ("1.00") so SQLite and PostgreSQL agree.
    price_multiplier: Mapped[str] = mapped_column(String(16), default="1.00")
    description_template: Mapped[str] = mapped_column(Text, default="{name} (цена за {measure})")
    # The VK shop options (connhub.sync.shop_options): send Evotor's quantity as VK's stock.
    send_stock: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    album_mode: Mapped[str] = mapped_column(String(16), default="off", server_default="off")  # off|top|leaf
    hand_edits: Mapped[str] = mapped_column(String(16), default="overwrite", server_default="overwrite")
    variants: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # modifications as variants

    enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[str] = mapped_column(String(320), default="")
    confirmed_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # The schedule (connhub.sync.schedule): "every" N minutes, "daily" at HH:MM in schedule_tz, or
    # "off" (cron only). The sidecar queues a run when schedule_next_at has passed.
    schedule_mode: Mapped[str] = mapped_column(String(8), default="every", server_default="every")
    schedule_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default=text("60"))
    schedule_at: Mapped[str] = mapped_column(String(5), default="03:00", server_default="03:00")
    schedule_tz: Mapped[str] = mapped_column(String(64), default="Europe/Moscow", server_default="Europe/Moscow")
    schedule_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SyncItemState(StrEnum):
    PENDING = "pending"  # written before market.add; the item may or may not exist on VK yet
    SYNCED = "synced"  # on VK as last published (visible or hidden by the not-for-sale policy)
    HIDDEN = "hidden"  # the product left the sync: hidden on VK (deleted=1) by the removal policy


class SyncItem(Base):
    """The mapping `(store id, product id) ↔ (community id, VK item id)` with what was last published.

    A row is written `pending` (no item id) before `market.add` and completed after it; a pending
    row is matched against the community's items by `sku` (the Evotor product id) before anything
    is added again, so an interrupted run never leaves a duplicate behind. Only items with a row
    here were created by connhub; the sync never touches any other item.
    """

    __tablename__ = "sync_items"
    __table_args__ = (UniqueConstraint("user_id", "store_id", "product_id", "group_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    store_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[int] = mapped_column(BigInteger)  # positive VK community id
    vk_item_id: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default=SyncItemState.PENDING)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")  # "" when unknown: the next run edits
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the market.add/edit fields last sent
    image_key: Mapped[str | None] = mapped_column(String(64))  # hash of the Evotor image last published
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SyncPhoto(Base):
    """An uploaded goods photo, reused while the Evotor image (by its hash) is unchanged."""

    __tablename__ = "sync_photos"
    __table_args__ = (UniqueConstraint("group_id", "image_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(BigInteger)
    image_key: Mapped[str] = mapped_column(String(64))  # sha256 of the image as Evotor gave it
    photo_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncImage(Base):
    """What the sync last saw of one Evotor product's image (docs/sync.md, «Photos»).

    The image list is asked for again only when the product is new here, its catalog `updated_at`
    moved, or `checked_at` is a day old; the file is downloaded again only when `version` (the
    image id and its `updated_at`) changed. `image_key` is the sha256 of the file, the key of
    `SyncPhoto`; `url` lets a community that has no photo of it yet fetch the file once more.
    """

    __tablename__ = "sync_images"
    __table_args__ = (UniqueConstraint("connection_id", "store_id", "product_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    store_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[str] = mapped_column(String(64))
    product_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the catalog's, at the last look
    version: Mapped[str | None] = mapped_column(String(160))  # "<image id>@<updated_at>"; None: no image
    image_key: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncRunState(StrEnum):
    REQUESTED = "requested"  # asked for on the page; a background process starts it
    RUNNING = "running"
    FINISHED = "finished"  # went through every product (some may have failed: see `failed`)
    STOPPED = "stopped"  # stopped early with `stop_reason` (goods off, no rights, ...)
    FAILED = "failed"  # ended by an unexpected error or a killed process


class SyncRun(Base):
    """One run of the sync (or a dry run): who started it, how far it got and what it did.

    At most one run per user is active (requested or running), enforced by a partial unique index:
    two starts at the same instant cannot both insert (connhub.sync.runs).
    """

    __tablename__ = "sync_runs"
    __table_args__ = (
        Index("uq_sync_runs_active", "user_id", unique=True,
              sqlite_where=text("state IN ('requested', 'running')"),
              postgresql_where=text("state IN ('requested', 'running')")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # cron | page | cli
    triggered_by: Mapped[str] = mapped_column(String(320), default="")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    state: Mapped[str] = mapped_column(String(16), default=SyncRunState.REQUESTED)
    phase: Mapped[str] = mapped_column(String(200), default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str] = mapped_column(String(128), default="")
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    hidden: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)  # VK API requests made
    failures: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{product_id, name, reason}]
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # a dry run's lists
    stop_reason: Mapped[str] = mapped_column(String(500), default="")
