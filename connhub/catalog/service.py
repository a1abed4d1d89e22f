"""What the catalog page needs in one place, every call scoped to the signed-in user.

The page asks which of the user's connections can show a catalog, what refresh is running or last
finished, and asks for a refresh; it never touches a token or the provider.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connhub.catalog import refresh
from connhub.catalog.refresh import JobView
from connhub.models import Connection, RefreshSource, Status, User
from connhub.providers.capabilities import CATALOG
from connhub.runtime import Runtime


def catalog_providers(rt: Runtime) -> list[str]:
    """The keys of the providers that offer a catalog, in registry order."""
    return [provider.info.key for provider in rt.providers.all() if CATALOG.offered_by(provider)]


@dataclass(frozen=True)
class CatalogConnection:
    id: int
    provider: str
    status: Status
    status_reason: str


def catalog_connection(session: Session, user_id: int, providers: Iterable[str]) -> CatalogConnection | None:
    """The user's first connection (in registry order) whose provider offers a catalog."""
    order = list(providers)
    rows = session.scalars(select(Connection).where(Connection.user_id == user_id,
                                                    Connection.provider.in_(order))).all()
    if not rows:
        return None
    row = min(rows, key=lambda r: order.index(r.provider))
    return CatalogConnection(row.id, row.provider, Status(row.status), row.status_reason)


def _owned(session: Session, user_id: int, connection_id: int) -> bool:
    return session.scalar(select(Connection.id).where(Connection.id == connection_id,
                                                      Connection.user_id == user_id)) is not None


def request_refresh(sessions: sessionmaker[Session], user_id: int, connection_id: int,
                    store_id: str | None) -> JobView | None:
    """«Обновить каталог»: queue a refresh (or join the one queued); None if not the user's."""
    with sessions() as session:
        if not _owned(session, user_id, connection_id):
            return None
    return refresh.request_refresh(sessions, connection_id, store_id=store_id, source=RefreshSource.USER,
                                   user_id=user_id)


@dataclass(frozen=True)
class RefreshStatus:
    latest: JobView | None  # the newest job, running or not (a failed one says why)
    last_success: JobView | None  # the refresh the shown catalog came from
    requested_by_name: str  # who asked for it ("" for the schedule)


def refresh_status(session: Session, user_id: int, connection_id: int, store_id: str | None) -> RefreshStatus:
    if not _owned(session, user_id, connection_id):
        return RefreshStatus(None, None, "")
    latest = refresh.latest_job(session, connection_id)
    finished = refresh.last_finished_job(session, connection_id, store_id, succeeded=True)
    name = ""
    if finished is not None and finished.requested_by_user_id is not None:
        user = session.get(User, finished.requested_by_user_id)
        name = (user.name or user.email or "пользователь") if user is not None else "пользователь"
    return RefreshStatus(latest, finished, name)
