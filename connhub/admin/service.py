"""The administrators' one door (issue 21): every connection and sync of every user, the sidecars'
heartbeats, and «Проверить сейчас» / «Синхронизировать сейчас» on a user's behalf.

Every function behind this door starts with `require_admin`: the page is not the guard, they are.
The door re-exports them from the modules that hold them, one concern each: views.py (what the page
gets, as data), overview.py (the counts and the tables), tokens.py (which tokens the key opens),
details.py (one user's things, read-only) and actions.py (acting on a user's behalf).

A rerun of «Обзор» costs a constant number of SQL statements, whatever the number of users: the
counts are aggregates in SQL (GROUP BY, CASE), the tables are one filtered, paged query each (with
the total from a window function), the heartbeats and the queues are one statement each. Whether a
stored token still opens with the configured key needs the key, not SQL: the answer is kept per
(connection, token version) in the process (a token changes only with its version; a new key means a
restart), so a warm rerun decrypts nothing and at most one statement fetches the new tokens.
"""

from __future__ import annotations

from collections.abc import Iterable

from connhub.admin.actions import actor_label, check_now_for, record_action, sync_now_for
from connhub.admin.details import connection_detail, sync_detail
from connhub.admin.overview import overview
from connhub.admin.tokens import FETCH_ALL_TOKENS_OVER, unreadable_ids
from connhub.admin.views import (
    CONNECTION_PROBLEMS,
    PAGE_SIZE,
    SYNC_PROBLEMS,
    SYNC_STALE_AFTER,
    ActionResult,
    ConnectionDetail,
    ConnectionRow,
    ConnectionState,
    Filters,
    Overview,
    Queues,
    SidecarRow,
    SyncDetail,
    SyncRow,
    SyncState,
    with_page,
)
from connhub.providers import PROVIDER_INFO

__all__ = [
    "CONNECTION_PROBLEMS", "FETCH_ALL_TOKENS_OVER", "PAGE_SIZE", "SYNC_PROBLEMS", "SYNC_STALE_AFTER", "ActionResult",
    "ConnectionDetail", "ConnectionRow", "ConnectionState", "Filters", "Overview", "Queues", "SidecarRow",
    "SyncDetail", "SyncRow", "SyncState", "actor_label", "check_now_for", "connection_detail", "overview",
    "providers", "record_action", "sync_detail", "sync_now_for", "unreadable_ids", "with_page",
]


def providers() -> Iterable[tuple[str, str]]:
    """The services the filter offers: (key, title)."""
    return [(key, info.title) for key, info in PROVIDER_INFO.items()]
