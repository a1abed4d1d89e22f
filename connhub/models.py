"""The database schema (SQLAlchemy 2 typed ORM). Alembic migrations mirror it exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        # SQLite stores text; keep one format so comparisons in SQL stay correct.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Status(StrEnum):
    """What a connection's card shows."""

    NEVER_CHECKED = "never_checked"
    ONLINE = "online"
    OFFLINE = "offline"  # provider trouble for several checks in a row
    RECONNECT = "reconnect"  # the provider rejected the token: only the user can fix it


class AuthMethod(StrEnum):
    OAUTH = "oauth"
    TOKEN = "token"  # a token pasted by the user (Evotor cloud token)


class CheckSource(StrEnum):
    """What made a check record."""

    CHECKER = "checker"  # the checker's schedule
    MANUAL = "manual"  # «Проверить сейчас»
    CONNECT = "connect"  # a connect or reconnect, whose token was just verified


class Outcome(StrEnum):
    """What a check found."""

    OK = "ok"
    REJECTED = "rejected"  # the provider rejected the token: reconnect
    TROUBLE = "trouble"  # the provider (or the network) failed: retry


class AccessKind(StrEnum):
    """What the app serves to a browser session (see app.py)."""

    OK = "ok"  # a signed-in user (or the local operator)
    SIGN_IN = "sign_in"  # sign-in is configured and nobody is signed in
    LOCAL_REFUSED = "local_refused"  # no sign-in configured and not served on loopback only
    BAD_IDENTITY = "bad_identity"  # the sign-in provider sent no subject
    CONFIG_ERROR = "config_error"  # the settings are invalid


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), unique=True)  # OIDC `sub`, or "local"
    email: Mapped[str] = mapped_column(String(320), default="")
    name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    connections: Mapped[list[Connection]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class Connection(Base):
    """One provider account of one user, with its tokens and its health."""

    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("user_id", "provider", name="uq_connections_user_id_provider"),
        Index("ix_connections_next_check_at", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    auth_method: Mapped[str] = mapped_column(String(16))  # an AuthMethod

    # The account behind the token: Evotor store id and name, VK user id and "First Last".
    account_id: Mapped[str] = mapped_column(String(64), default="")
    display_name: Mapped[str] = mapped_column(String(255), default="")
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # Tokens, sealed by connhub.crypto; never stored in clear.
    access_token_sealed: Mapped[str] = mapped_column(Text)
    refresh_token_sealed: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auth_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # e.g. VK device_id
    # Bumped whenever the tokens change (refresh, reconnect): a check's write-back names the
    # version it checked and is dropped if the tokens changed meanwhile.
    token_version: Mapped[int] = mapped_column(Integer, default=1)

    status: Mapped[str] = mapped_column(String(16), default=Status.NEVER_CHECKED)  # a Status
    status_reason: Mapped[str] = mapped_column(String(500), default="")
    is_online: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_successes: Mapped[int] = mapped_column(Integer, default=0)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_latency_ms: Mapped[int | None] = mapped_column(Integer)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A checker's claim on the row while its check is in flight.
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A token refresh in flight: who claimed it and until when. The provider is called outside any
    # transaction; the new tokens are stored only if the claim still holds (connhub.health.check).
    refresh_claim: Mapped[str | None] = mapped_column(String(64))
    refresh_claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="connections")
    checks: Mapped[list[CheckRecord]] = relationship(
        back_populates="connection", cascade="all, delete-orphan", passive_deletes=True
    )


class CheckRecord(Base):
    """One health check's result: the history on a service page."""

    __tablename__ = "check_records"
    __table_args__ = (
        Index("ix_check_records_connection_id_checked_at", "connection_id", "checked_at"),
        Index("ix_check_records_checked_at", "checked_at"),  # retention pruning
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16))  # a CheckSource
    outcome: Mapped[str] = mapped_column(String(16))  # an Outcome
    status_after: Mapped[str] = mapped_column(String(16))  # a Status
    reason: Mapped[str] = mapped_column(String(500), default="")
    latency_ms: Mapped[int | None] = mapped_column(Integer)

    connection: Mapped[Connection] = relationship(back_populates="checks")


class RollupPeriod(StrEnum):
    HOUR = "hour"
    DAY = "day"


class CheckRollup(Base):
    """One connection's checks in one hour or one day (connhub.health.history): kept for
    HISTORY_ROLLUP_DAYS, after the raw check records (HISTORY_RAW_DAYS) are gone."""

    __tablename__ = "check_rollups"
    __table_args__ = (Index("ix_check_rollups_period_bucket_start", "period", "bucket_start"),)  # pruning

    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)  # a RollupPeriod
    bucket_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    checks: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)  # checks whose outcome was not ok
    worst_status: Mapped[str] = mapped_column(String(16))  # the worst Status a check left behind
    p50_ms: Mapped[int | None] = mapped_column(Integer)  # None: no check measured a latency
    p95_ms: Mapped[int | None] = mapped_column(Integer)


class OAuthFlow(Base):
    """An authorization begun by a user: single use, bound to the user and the provider."""

    __tablename__ = "oauth_flows"

    state: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(32))
    code_verifier_sealed: Mapped[str] = mapped_column(Text)
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CheckerHeartbeat(Base):
    """Proof of life of one checker process, shown on the dashboard."""

    __tablename__ = "checker_heartbeats"

    checker_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    interval_seconds: Mapped[int] = mapped_column(Integer)
    last_cycle: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# ---------------------------------------------------------------------------------------------
# Catalog (issue 9): the local copy of a catalog provider's stores, groups and products, the
# refresh jobs that fill it, and each user's include/exclude rules for the sync.
# Product and group ids are unique within a store only, so every key carries the store's
# snapshot. Absent provider fields are stored as NULL, never as zero or "".
# ---------------------------------------------------------------------------------------------


class Thousandths(TypeDecorator[Decimal]):
    """An exact decimal with up to 3 fraction digits (rubles, quantities), stored as an integer
    count of thousandths: exact on SQLite (which has no decimal type) as on PostgreSQL."""

    impl = BigInteger
    cache_ok = True
    SCALE = Decimal(1000)

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value) * self.SCALE
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than 3 fraction digits")
        return int(scaled)

    def process_result_value(self, value: int | None, dialect: Any) -> Decimal | None:
        return None if value is None else from_thousandths(value)


def from_thousandths(value: int) -> Decimal:
    """Thousandths as a Decimal without trailing zeros beyond what the value needs (111 -> 111)."""
    number = Decimal(value).scaleb(-3)
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()


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


# ---------------------------------------------------------------------------------------------
# Sync configuration (issue 10)
# ---------------------------------------------------------------------------------------------


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

    enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[str] = mapped_column(String(320), default="")
    confirmed_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

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


# ---------------------------------------------------------------------------------------------
# Journal and notifications (issue 18): typed events, each user's channels, and the outbox the
# sidecar sends from. An outbox row is written in the transaction of the event that causes it.
# ---------------------------------------------------------------------------------------------


class JournalEvent(Base):
    """One thing that happened, typed (`kind` is a connhub.journal.kinds.EventKind); never a secret."""

    __tablename__ = "journal_events"
    __table_args__ = (
        Index("ix_journal_events_user_id_at", "user_id", "at"),
        Index("ix_journal_events_connection_id_at", "connection_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    actor_kind: Mapped[str] = mapped_column(String(16))  # an ActorKind
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    service: Mapped[str] = mapped_column(String(32))  # a provider key, "sync" or "catalog"
    connection_id: Mapped[int | None] = mapped_column(Integer)  # kept after the connection is deleted
    kind: Mapped[str] = mapped_column(String(48))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class NotifyChannel(Base):
    """Where one user's notices go: an Apprise URL (sealed: it carries secrets) and the kinds it wants."""

    __tablename__ = "notify_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # email | telegram | apprise
    label: Mapped[str] = mapped_column(String(255), default="")  # shown on the page; no secret in it
    target_sealed: Mapped[str] = mapped_column(Text)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)  # connhub.notify.topics.Topic values
    remind_hourly: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotifyOutbox(Base):
    """One notice for one channel: pending → (claimed) → sent | failed | dropped."""

    __tablename__ = "notify_outbox"
    __table_args__ = (
        Index("ix_notify_outbox_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_notify_outbox_channel_id_connection_id", "channel_id", "connection_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("notify_channels.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("journal_events.id", ondelete="SET NULL"))
    connection_id: Mapped[int | None] = mapped_column(Integer)
    notice: Mapped[str] = mapped_column(String(32))  # a connhub.notify.messages.Notice
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    link_path: Mapped[str] = mapped_column(String(64), default="")  # the page, under PUBLIC_URL
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set (committed) right before the send
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
