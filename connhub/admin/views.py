"""What «Обзор» shows, as data: the states it counts and filters by, the filters, the rows of its
tables, and the answers of the actions (connhub.admin.service is the door that returns them)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from connhub.connections import CheckView, ConnectionView
from connhub.models import Status
from connhub.sync.config import SyncConfigView
from connhub.sync.runs import RunView

PAGE_SIZE = 50
# An enabled sync whose last completed run is older than this (or that never completed one) is stale.
SYNC_STALE_AFTER = timedelta(hours=24)


class ConnectionState(StrEnum):
    """What the overview counts and filters connections by (a Status, or the key's trouble)."""

    ONLINE = Status.ONLINE.value
    OFFLINE = Status.OFFLINE.value
    RECONNECT = Status.RECONNECT.value
    NEVER_CHECKED = Status.NEVER_CHECKED.value
    UNREADABLE = "unreadable"  # the configured key does not open the stored token (counted apart)


class SyncState(StrEnum):
    ON = "on"
    OFF = "off"
    STALE = "stale"  # on, but no completed run for SYNC_STALE_AFTER
    STOPPED = "stopped"  # on, and its last run stopped early (goods off, no rights, ...)
    FAILED = "failed"  # on, and its last run failed


CONNECTION_PROBLEMS = (ConnectionState.OFFLINE, ConnectionState.RECONNECT, ConnectionState.UNREADABLE)
SYNC_PROBLEMS = (SyncState.STALE, SyncState.STOPPED, SyncState.FAILED)


@dataclass(frozen=True)
class Filters:
    """The table filters: "" / None means any."""

    service: str = ""  # a provider key
    connection_state: str = ""  # a ConnectionState
    sync_state: str = ""  # a SyncState
    owner: str = ""  # part of the owner's e-mail or name, case-insensitive
    problems_only: bool = False
    connections_page: int = 0
    syncs_page: int = 0


@dataclass(frozen=True)
class ConnectionRow:
    id: int
    user_id: int
    owner: str
    provider: str
    service: str
    status: Status
    unreadable: bool
    reason: str
    account: str
    last_checked_at: datetime | None
    next_check_at: datetime | None


@dataclass(frozen=True)
class SyncRow:
    user_id: int
    owner: str
    state: SyncState
    enabled: bool
    store: str
    community: str
    last_run_state: str | None
    last_run_at: datetime | None
    last_run_note: str


@dataclass(frozen=True)
class SidecarRow:
    checker_id: str
    host: str
    pid: str
    started_at: datetime
    last_beat_at: datetime
    silent: bool  # no beat for two check intervals
    cycle_seconds: float | None
    checked: int | None
    checks_per_second: float | None


@dataclass(frozen=True)
class Queues:
    due_lag_seconds: float | None  # how long the oldest due, unclaimed check has been waiting
    due_checks: int
    catalog_queued: int
    catalog_running: int
    sync_requested: int
    sync_running: int


@dataclass(frozen=True)
class Overview:
    now: datetime
    users: int
    connection_counts: dict[ConnectionState, int]
    sync_counts: dict[SyncState, int]
    connections: list[ConnectionRow]
    connections_total: int  # rows matching the filters (the list is one page of them)
    syncs: list[SyncRow]
    syncs_total: int
    sidecars: list[SidecarRow]
    queues: Queues
    page_size: int = PAGE_SIZE


@dataclass(frozen=True)
class ConnectionDetail:
    owner: str
    owner_id: int
    connection: ConnectionView
    unreadable: bool
    checks: list[CheckView]


@dataclass(frozen=True)
class SyncDetail:
    owner: str
    owner_id: int
    config: SyncConfigView
    runs: list[RunView]


@dataclass(frozen=True)
class ActionResult:
    """What an action on a user's behalf did, as data for the page."""

    ok: bool
    message: str
    connection: ConnectionView | None = None
    run: RunView | None = None


def with_page(filters: Filters, *, connections_page: int | None = None, syncs_page: int | None = None) -> Filters:
    return replace(filters,
                   connections_page=filters.connections_page if connections_page is None else max(0, connections_page),
                   syncs_page=filters.syncs_page if syncs_page is None else max(0, syncs_page))
