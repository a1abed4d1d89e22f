"""A connection's access token at the moment of use, refreshed first when it is about to expire,
and its goods opened with it (`goods_target`: the one way the sync, the orders and the page do)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from connhub.connections import ConnectionView
from connhub.crypto import UNREADABLE_MESSAGE, Secret, UnreadableToken
from connhub.db import execute_write
from connhub.health import refresh_tokens
from connhub.models import Connection, utcnow
from connhub.ports.errors import ProviderError
from connhub.ports.goods import GoodsTarget
from connhub.providers.capabilities import GOODS, GoodsProvider
from connhub.runtime import Runtime

log = logging.getLogger(__name__)


def fresh_token(rt: Runtime, view: ConnectionView) -> Secret:
    """The token to call the provider with now; a refresh is single-flight (connhub.health)."""
    with rt.sessions() as session:
        row = session.get(Connection, view.id)
        if row is None:
            raise ProviderError("Подключение удалено", permanent=True, code="gone")
        try:
            access = rt.cipher.open(row.access_token_sealed)
        except UnreadableToken:
            raise ProviderError(UNREADABLE_MESSAGE, permanent=True, code="unreadable_token") from None
        expires_at, version, refreshable = row.token_expires_at, row.token_version, bool(row.refresh_token_sealed)
    provider = rt.providers.get(view.provider)
    if refreshable and provider.token_is_stale(expires_at, utcnow()):
        tokens, _version = refresh_tokens(rt, provider, view.id, version)
        return tokens.access_token
    return access


def goods_target(rt: Runtime, provider: GoodsProvider, view: ConnectionView) -> GoodsTarget:
    """The connection's goods with a fresh token; a call refused for a missing right marks the
    connection's rights for a re-probe in the database, so the next health check (in whichever
    process) probes them at once and «Права» on the card follow."""
    return provider.goods_target(fresh_token(rt, view), on_rights_refused=lambda: mark_rights_refused(rt, view))


def mark_rights_refused(rt: Runtime, view: ConnectionView) -> None:
    """Record in the connection's stored profile that a goods call was refused for a right (never raises)."""
    provider = rt.providers.offering(GOODS, view.provider)
    if provider is None:
        return

    def mark(session: Session) -> None:
        row = session.scalar(select(Connection).where(Connection.id == view.id).with_for_update())
        if row is not None:
            row.profile = provider.rights_refused(dict(row.profile or {}), utcnow())

    try:
        execute_write(rt.sessions, mark)
    except Exception as exc:  # noqa: BLE001 - the refusal is the caller's answer; this mark is best effort
        log.warning("marking the rights of connection %s for a re-probe failed: %s", view.id, type(exc).__name__)
