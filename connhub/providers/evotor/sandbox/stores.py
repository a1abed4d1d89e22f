"""api.evotor.ru/stores, emulated: v2 pages of the token owner's stores; both `Authorization: Bearer`
and the legacy `X-Authorization` header are accepted."""

from __future__ import annotations

import base64
import binascii

from connhub.providers.evotor.sandbox.constants import (
    EVOTOR,
    EVOTOR_RATE_LIMIT,
    EVOTOR_RATE_WINDOW,
    MAX_PAGE,
    REFUSALS,
    UNAUTHORIZED,
    evotor_stores,
)
from connhub.sandbox.state import SandboxState
from connhub.sandbox.web import Request, Response, json_response

# ----- api.evotor.ru/stores -----

def presented_tokens(request: Request) -> list[str]:
    """Tokens from `Authorization: Bearer <t>` (any case of the scheme) and `X-Authorization: <t>`."""
    tokens = []
    scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        tokens.append(value.strip())
    legacy = (request.headers.get("X-Authorization") or "").strip()
    if legacy:
        tokens.append(legacy)
    return tokens


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    prefix, _, offset = text.partition(":")
    return int(offset) if prefix == "offset" and offset.isdigit() else None


def _validation_failed(subject: str, reason: str) -> Response:
    return json_response({
        "code": "validation_failed",
        "message": "validation failed for specified payload",
        "violations": [{"reason": reason, "subject": subject}],
    }, 400)


def stores(state: SandboxState, request: Request) -> Response:
    """The token owner's stores; accepted when either auth header carries a valid token."""
    checks = [state.check_access(EVOTOR, presented) for presented in presented_tokens(request)]
    owner = next((check.account_id for check in checks if check.verdict == "ok"), None)
    if owner is None:
        refusal = next((REFUSALS[check.verdict] for check in checks if check.verdict in REFUSALS), UNAUTHORIZED)
        return json_response(refusal[1], refusal[0])

    limit_text = request.params.get("limit", str(MAX_PAGE))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_PAGE:
        return _validation_failed("limit", f"must be between 1 and {MAX_PAGE}")
    offset: int | None = 0
    if "cursor" in request.params:
        offset = _decode_cursor(request.params["cursor"])
    if offset is None:
        return _validation_failed("cursor", "invalid cursor")
    end = offset + int(limit_text)
    items = evotor_stores(owner)
    paging = {"next_cursor": _encode_cursor(end)} if end < len(items) else {}

    remaining, reset = state.rate(EVOTOR, owner, limit=EVOTOR_RATE_LIMIT, window_seconds=EVOTOR_RATE_WINDOW)
    headers = {
        "X-RateLimit-Limit": str(EVOTOR_RATE_LIMIT),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }
    return json_response({"items": items[offset:end], "paging": paging}, headers=headers)

