"""Token-endpoint calls through Authlib's requests client, with errors mapped to ProviderError.

Authlib is imported when a token endpoint is first called (a connect, a reconnect, a refresh), not
with the providers: a health check whose token is fresh never needs it (issue 19: the checker's memory)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests

from connhub.crypto import Secret
from connhub.providers import text
from connhub.providers.base import ProviderError, TokenSet
from connhub.providers.http import MAX_JSON_DEPTH, harden, too_deep, transport_error

if TYPE_CHECKING:
    from authlib.integrations.requests_client import OAuth2Session

# RFC 6749 and VK ID error keys that mean the grant itself is gone: only a reconnect helps.
DEAD_GRANT_ERRORS = {"invalid_grant", "invalid_token", "access_denied"}
# Provider-side trouble: retry later.
TRANSIENT_ERRORS = {"server_error", "temporarily_unavailable", "slow_down"}


MAX_LIFETIME_SECONDS = 366 * 24 * 3600  # a longer (or non-finite) token lifetime is treated as unknown


def lifetime_seconds(value: object) -> float | None:
    """A token lifetime from a token endpoint, or None when it is missing, absurd or not finite."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_LIFETIME_SECONDS:
        return None
    return seconds


def _tame_token_response(response: requests.Response) -> requests.Response:
    """Drop lifetimes Authlib would choke on (`"expires_in": 1e400` is infinity: int() overflows)."""
    try:
        payload = response.json()
    except ValueError:
        return response  # Authlib reports the unreadable body
    except RecursionError:
        payload = None
    if payload is None or too_deep(payload, MAX_JSON_DEPTH):  # Authlib's own decoding would recurse too far
        response._content = b""
        return response
    if isinstance(payload, dict):
        changed = payload.pop("expires_at", None) is not None  # connhub goes by expires_in alone
        if "expires_in" in payload and lifetime_seconds(payload["expires_in"]) is None:
            del payload["expires_in"]
            changed = True
        if changed:
            response._content = json.dumps(payload).encode()
    return response


def oauth_session(**kwargs: Any) -> OAuth2Session:
    from authlib.integrations.requests_client import OAuth2Session  # noqa: PLC0415 - on first use

    client = OAuth2Session(**kwargs)
    harden(client)  # one deadline per request, a capped body, no redirects
    client.register_compliance_hook("access_token_response", _tame_token_response)
    client.register_compliance_hook("refresh_token_response", _tame_token_response)
    return client


def token_request(service: str, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one token-endpoint request; map every failure to a ProviderError."""
    from authlib.integrations.base_client.errors import OAuthError  # noqa: PLC0415 - on first use

    try:
        return dict(call())
    except OAuthError as exc:
        raise grant_error(service, exc.error or "") from None
    except requests.HTTPError as exc:  # Authlib raises for 5xx before parsing
        status = exc.response.status_code if exc.response is not None else 0
        raise ProviderError(
            f"{service}: сервер авторизации недоступен (ошибка {status})", permanent=False, code=f"http_{status}"
        ) from None
    except requests.RequestException as exc:
        raise transport_error(exc, service) from None
    except ValueError:
        raise ProviderError(
            f"{service}: сервер авторизации прислал непонятный ответ", permanent=False, code="bad_token_body"
        ) from None


def grant_error(service: str, error: str) -> ProviderError:
    if error in DEAD_GRANT_ERRORS:
        return ProviderError(
            f"{service}: доступ отозван или истёк — подключите заново", permanent=True, code=error
        )
    if error in TRANSIENT_ERRORS:
        return ProviderError(f"{service}: временная ошибка сервера авторизации", permanent=False, code=error)
    if error in {"invalid_client", "unauthorized_client"}:
        return ProviderError(
            f"{service}: приложение connhub не принято — проверьте его настройки", permanent=False, code=error
        )
    shown = text.code(error) if error else "без кода"
    return ProviderError(f"{service}: ошибка авторизации ({shown})", permanent=False, code=error or "oauth")


def token_set(payload: dict[str, Any], *, service: str, auth_params: dict[str, Any] | None = None,
              previous_refresh: Secret | None = None) -> TokenSet:
    access = payload.get("access_token")
    if not isinstance(access, str) or not access:
        raise ProviderError(f"{service}: в ответе нет токена доступа", permanent=False, code="no_access_token")
    refresh = payload.get("refresh_token")
    expires_in = lifetime_seconds(payload.get("expires_in"))
    expires_at = datetime.now(UTC) + timedelta(seconds=expires_in) if expires_in is not None else None
    return TokenSet(
        access_token=Secret(access),
        refresh_token=Secret(refresh) if isinstance(refresh, str) and refresh else previous_refresh,
        expires_at=expires_at,
        auth_params=dict(auth_params or {}),
    )
