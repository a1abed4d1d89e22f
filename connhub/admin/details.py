"""One user's connection or sync, read-only, for an administrator."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from connhub import connections
from connhub.admin.access import Actor, require_admin
from connhub.admin.overview import owner_label
from connhub.admin.tokens import opens
from connhub.admin.views import ConnectionDetail, SyncDetail
from connhub.models import Connection, User
from connhub.providers import PROVIDER_INFO
from connhub.runtime import Runtime
from connhub.sync import runs
from connhub.sync.config import get_config


def owner_of(session: Session, user_id: int) -> str | None:
    row = session.execute(select(owner_label()).select_from(User).where(User.id == user_id)).first()
    return None if row is None else str(row[0])


def connection_detail(rt: Runtime, actor: Actor, connection_id: int) -> ConnectionDetail | None:
    """A user's connection and its recent checks, read-only; None if it is gone."""
    require_admin(actor, rt.settings)
    with rt.sessions() as session:
        row = session.get(Connection, connection_id)
        if row is None or row.provider not in PROVIDER_INFO:
            return None
        owner_id = row.user_id
        view = connections.to_view(row)
        readable = opens(rt.cipher, row.access_token_sealed)
        owner = owner_of(session, owner_id) or ""
        checks = connections.recent_checks(session, owner_id, connection_id)
    return ConnectionDetail(owner=owner, owner_id=owner_id, connection=view, unreadable=not readable, checks=checks)


def sync_detail(rt: Runtime, actor: Actor, user_id: int) -> SyncDetail | None:
    """A user's sync configuration and recent runs, read-only; None if the user is gone."""
    require_admin(actor, rt.settings)
    with rt.sessions() as session:
        owner = owner_of(session, user_id)
        if owner is None:
            return None
        config = get_config(session, user_id)
        recent = runs.recent_runs(session, user_id)
    return SyncDetail(owner=owner, owner_id=user_id, config=config, runs=recent)
