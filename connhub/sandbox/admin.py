"""The control API under /_sandbox: what tests and the benchmark use to steer the providers.

JSON in, JSON out; a bad request answers 400 `{"error": "<what is wrong>"}`.
"""

from __future__ import annotations

from typing import Any

from connhub.sandbox.accounts import ACCOUNTS, EVOTOR, PROVIDERS, VK, default_account
from connhub.sandbox.state import (
    ALL_TARGETS,
    CLOUD,
    DEFAULT_CONFIG,
    OAUTH,
    REVOKE_MODES,
    TARGETS,
    Fault,
    SandboxState,
)
from connhub.sandbox.web import BadRequest, Request, Response, json_response

MAX_MINT = 20000
MAX_LATENCY_MS = 120_000
KINDS = {EVOTOR: (OAUTH, CLOUD), VK: (OAUTH,)}


def _int(body: dict[str, Any], name: str, *, minimum: int, maximum: int, default: int | None = None) -> int | None:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be an integer from {minimum} to {maximum}")
    return value


def _choice(body: dict[str, Any], name: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = body.get(name, default)
    if value not in choices:
        raise BadRequest(f"{name} must be one of: {', '.join(choices)}")
    return value


def _account(body: dict[str, Any], provider: str) -> str | None:
    """The optional account_id, as a string (VK user ids may come as numbers)."""
    value = body.get("account_id")
    if value is None:
        return None
    account_id = str(value)
    if isinstance(value, bool) or account_id not in ACCOUNTS[provider]:
        raise BadRequest(f"unknown {provider} account_id {value!r}; known: {', '.join(ACCOUNTS[provider])}")
    return account_id


def reset(state: SandboxState, request: Request) -> Response:
    state.reset()
    return json_response({"ok": True})


def revoke(state: SandboxState, request: Request) -> Response:
    body = request.json()
    provider = _choice(body, "provider", PROVIDERS)
    mode = _choice(body, "mode", REVOKE_MODES[provider], default="revoke")
    token = body.get("token")
    if token is not None and not isinstance(token, str):
        raise BadRequest("token must be a string")
    affected = state.revoke(provider, mode, account_id=_account(body, provider), token=token)
    return json_response({"affected": affected})


def expire(state: SandboxState, request: Request) -> Response:
    provider = _choice(request.json(), "provider", PROVIDERS)
    return json_response({"affected": state.expire(provider)})


def list_faults(state: SandboxState, request: Request) -> Response:
    return json_response({"faults": state.faults()})


def set_fault(state: SandboxState, request: Request) -> Response:
    body = request.json()
    target = _choice(body, "target", (*TARGETS, ALL_TARGETS))
    vk_error = _int(body, "vk_error", minimum=1, maximum=100_000)
    if vk_error is not None and target != "vk-api":
        raise BadRequest("vk_error applies to target vk-api only")
    drop = body.get("drop", False)
    if not isinstance(drop, bool):
        raise BadRequest("drop must be true or false")
    fault = Fault(
        latency_ms=_int(body, "latency_ms", minimum=0, maximum=MAX_LATENCY_MS, default=0),
        status=_int(body, "status", minimum=200, maximum=599),
        vk_error=vk_error,
        drop=drop,
        count=_int(body, "count", minimum=1, maximum=1_000_000_000),
    )
    state.set_fault(target, fault)
    return list_faults(state, request)


def clear_faults(state: SandboxState, request: Request) -> Response:
    state.clear_faults()
    return list_faults(state, request)


def mint_tokens(state: SandboxState, request: Request) -> Response:
    body = request.json()
    provider = _choice(body, "provider", PROVIDERS)
    kind = _choice(body, "kind", KINDS[provider], default=OAUTH)
    count = _int(body, "count", minimum=1, maximum=MAX_MINT, default=1)
    tokens = []
    for issued in state.mint(provider, count, _account(body, provider), kind):
        entry = {
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
            "expires_in": issued.expires_in,
            "account_id": issued.account_id,
        }
        if provider == VK:
            entry.update(device_id=issued.device_id, user_id=int(issued.account_id))
        tokens.append(entry)
    return json_response({"tokens": tokens})


def cloud_token(state: SandboxState, request: Request) -> Response:
    """The account's current Evotor cloud token: the same one the market page shows."""
    account_id = _account(request.json(), EVOTOR) or default_account(EVOTOR)
    return json_response({"token": state.cloud_token(account_id)})


def get_config(state: SandboxState, request: Request) -> Response:
    return json_response(state.config())


def set_config(state: SandboxState, request: Request) -> Response:
    body = request.json()
    values = {name: _int(body, name, minimum=1, maximum=10 * 365 * 24 * 3600) for name in body}
    try:
        return json_response(state.configure(**values))
    except ValueError as exc:
        raise BadRequest(f"{exc}; known: {', '.join(DEFAULT_CONFIG)}") from None


def stats(state: SandboxState, request: Request) -> Response:
    return json_response(state.stats())
