"""Everything known about one user's sync, from the database alone (no provider is called).

The page, `run/read_config.py` and (next) the sync engine read the same `SyncStatus`: the
saved configuration, the two connections, the selection the catalog's rules make, the
readiness checklist, and what changed since the sync was confirmed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connhub import connections
from connhub.connections import ConnectionView
from connhub.db import execute_write
from connhub.models import utcnow
from connhub.runtime import Runtime
from connhub.sync.config import SyncConfigView, enable, get_config
from connhub.sync.confirmation import changes_since_confirmation, make_snapshot
from connhub.sync.readiness import REQUIRED_RIGHTS, ConnectionFacts, Readiness, ReadinessFacts, evaluate
from connhub.sync.roles import Roles, roles
from connhub.sync.selection import Selection, catalog_refreshed_at, selection_for


@dataclass(frozen=True)
class SyncStatus:
    roles: Roles
    config: SyncConfigView
    source: ConnectionView | None
    target: ConnectionView | None
    target_rights: dict[str, bool | None] | None
    catalog_refreshed_at: datetime | None
    selection: Selection | None
    readiness: Readiness
    snapshot: dict[str, Any]  # what a confirmation now would cover
    changes: list[str]  # since the last confirmation, while the sync is on

    @property
    def product_ids(self) -> tuple[str, ...]:
        return self.selection.product_ids if self.selection is not None else ()


def rights_of(view: ConnectionView | None) -> dict[str, bool | None] | None:
    """The target token's rights as last probed (`profile["rights"]`: right → True, False or None
    for unknown); None if they were never probed."""
    if view is None:
        return None
    raw = view.profile.get("rights")
    if not isinstance(raw, dict) or not raw.get("checked_at"):
        return None
    return {name: raw.get(name) if isinstance(raw.get(name), bool) else None for name in REQUIRED_RIGHTS}


def rights_note(view: ConnectionView | None) -> str:
    raw = view.profile.get("rights") if view is not None else None
    return str(raw.get("note") or "") if isinstance(raw, dict) else ""


def _facts(title: str, view: ConnectionView | None) -> ConnectionFacts:
    if view is None:
        return ConnectionFacts(title)
    return ConnectionFacts(title, connected=True, status=view.status, reason=view.status_reason)


def sync_status(rt: Runtime, user_id: int, *, now: datetime | None = None) -> SyncStatus:
    now = now or utcnow()
    sessions = rt.sessions
    parts = roles(rt.providers)
    with sessions() as session:
        config = get_config(session, user_id)
        settings = config.settings
        source = connections.get_for_user(session, user_id, parts.source)
        target = connections.get_for_user(session, user_id, parts.target)
        refreshed_at = None
        if source is not None:
            refreshed_at = catalog_refreshed_at(session, user_id, source.id, settings.store_id or None)
    selection = None
    if source is not None and settings.store_id:
        selection = selection_for(sessions, user_id, source.id, settings.store_id)
    rights = rights_of(target)
    readiness = evaluate(ReadinessFacts(
        source=_facts(parts.source_title, source),
        target=_facts(parts.target_title, target),
        settings=settings,
        catalog_refreshed_at=refreshed_at,
        target_rights=rights,
        target_rights_note=rights_note(target),
        target_rights_setting=parts.target_rights_setting,
        selected_products=selection.count if selection is not None else None,
    ), now=now)
    snapshot = make_snapshot(settings, selection.product_ids if selection is not None else ())
    changes = changes_since_confirmation(config.confirmed_snapshot, snapshot) if config.is_on else []
    return SyncStatus(roles=parts, config=config, source=source, target=target, target_rights=rights,
                      catalog_refreshed_at=refreshed_at, selection=selection, readiness=readiness,
                      snapshot=snapshot, changes=changes)


def switch_on(rt: Runtime, user_id: int, *, confirmed_by: str, shown: Mapping[str, Any]) -> SyncConfigView:
    """Switch the sync on for what the confirmation showed (`shown`, a `SyncStatus.snapshot`);
    ConfirmationOutdated if the configuration or the selection changed since."""
    current = sync_status(rt, user_id)
    return execute_write(rt.sessions, lambda session: enable(session, user_id, confirmed_by=confirmed_by, shown=shown,
                                                             product_ids=current.product_ids))
