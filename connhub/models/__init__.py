"""The database schema (SQLAlchemy 2 typed ORM). Alembic migrations mirror it exactly.

One module per area, every name re-exported here (`from connhub.models import X` is how the code
imports them): base.py (the declarative base, aware UTC datetimes, exact thousandths), accounts.py
(users, connections, their checks and rollups, OAuth flows, sidecar heartbeats), catalog.py, sync.py
and journal.py (the journal and notifications). Importing this package maps every table, so
`Base.metadata` is the whole schema.
"""

from __future__ import annotations

from connhub.models.accounts import (
    AccessKind,
    AuthMethod,
    CheckerHeartbeat,
    CheckRecord,
    CheckRollup,
    CheckSource,
    Connection,
    OAuthFlow,
    Outcome,
    RollupPeriod,
    Status,
    User,
)
from connhub.models.base import NAMING_CONVENTION, Base, Thousandths, UTCDateTime, from_thousandths, utcnow
from connhub.models.catalog import (
    CatalogGroup,
    CatalogProduct,
    CatalogRefreshJob,
    CatalogRule,
    CatalogSnapshot,
    CatalogStore,
    RefreshSource,
    RefreshState,
    RuleMode,
    RuleTarget,
    SnapshotState,
)
from connhub.models.journal import JournalEvent, NotifyChannel, NotifyOutbox
from connhub.models.limits import RateBucket
from connhub.models.shop import ShopOrder, ShopOrderPoll, SyncAlbum, SyncItemGroup, SyncVariant
from connhub.models.sync import SyncConfig, SyncImage, SyncItem, SyncItemState, SyncPhoto, SyncRun, SyncRunState

__all__ = [
    "RateBucket",
    "AccessKind", "AuthMethod", "Base", "CatalogGroup", "CatalogProduct", "CatalogRefreshJob", "CatalogRule",
    "CatalogSnapshot", "CatalogStore", "CheckRecord", "CheckRollup", "CheckSource", "CheckerHeartbeat",
    "Connection", "JournalEvent", "NAMING_CONVENTION", "NotifyChannel", "NotifyOutbox", "OAuthFlow", "Outcome",
    "RefreshSource", "RefreshState", "RollupPeriod", "RuleMode", "RuleTarget", "ShopOrder", "ShopOrderPoll",
    "SnapshotState", "Status", "SyncAlbum", "SyncConfig", "SyncImage", "SyncItem", "SyncItemGroup", "SyncItemState",
    "SyncPhoto", "SyncRun", "SyncRunState", "SyncVariant",
    "Thousandths", "UTCDateTime", "User", "from_thousandths", "utcnow",
]
