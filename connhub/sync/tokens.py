"""A connection's access token at the moment of use, refreshed first when it is about to expire."""

from __future__ import annotations

from connhub.connections import ConnectionView
from connhub.crypto import UNREADABLE_MESSAGE, Secret, UnreadableToken
from connhub.health import refresh_tokens
from connhub.models import Connection, utcnow
from connhub.ports.errors import ProviderError
from connhub.runtime import Runtime


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
