"""The control API under /_sandbox: what tests and the benchmark use to steer the providers.

JSON in, JSON out; a bad request answers 400 `{"error": "<what is wrong>"}`.
"""

from __future__ import annotations

from typing import Any

from connhub.sandbox.state import ALL_TARGETS, CLOUD, OAUTH, Fault, SandboxState
from connhub.sandbox.web import BadRequest, Request, Response, json_response

MAX_MINT = 20000
MAX_LATENCY_MS = 120_000


def _int(body: dict[str, Any], name: str, *, minimum: int, maximum: int) -> int | None:
    """The optional integer `name`; None when absent or null."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be an integer from {minimum} to {maximum}")
    return value


def _int_or(body: dict[str, Any], name: str, default: int, *, minimum: int, maximum: int) -> int:
    """The integer `name`, or `default` when absent or null."""
    value = _int(body, name, minimum=minimum, maximum=maximum)
    return default if value is None else value


def _required_int(body: dict[str, Any], name: str, *, minimum: int, maximum: int) -> int:
    value = _int(body, name, minimum=minimum, maximum=maximum)
    if value is None:
        raise BadRequest(f"{name} must be an integer from {minimum} to {maximum}")
    return value


def _choice(body: dict[str, Any], name: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = body.get(name, default)
    if value not in choices:
        raise BadRequest(f"{name} must be one of: {', '.join(choices)}")
    return str(value)


def _account(state: SandboxState, body: dict[str, Any], provider: str) -> str | None:
    """The optional account_id, as a string (numeric user ids may come as numbers)."""
    value = body.get("account_id")
    if value is None:
        return None
    account_id = str(value)
    accounts = state.emulations[provider].accounts
    if isinstance(value, bool) or account_id not in accounts:
        raise BadRequest(f"unknown {provider} account_id {value!r}; known: {', '.join(accounts)}")
    return account_id


def reset(state: SandboxState, request: Request) -> Response:
    state.reset()
    return json_response({"ok": True})


def revoke(state: SandboxState, request: Request) -> Response:
    body = request.json()
    provider = _choice(body, "provider", state.providers)
    mode = _choice(body, "mode", state.emulations[provider].revoke_modes, default="revoke")
    token = body.get("token")
    if token is not None and not isinstance(token, str):
        raise BadRequest("token must be a string")
    affected = state.revoke(provider, mode, account_id=_account(state, body, provider), token=token)
    return json_response({"affected": affected})


def expire(state: SandboxState, request: Request) -> Response:
    provider = _choice(request.json(), "provider", state.providers)
    return json_response({"affected": state.expire(provider)})


def list_faults(state: SandboxState, request: Request) -> Response:
    return json_response({"faults": state.faults()})


def set_fault(state: SandboxState, request: Request) -> Response:
    body = request.json()
    target = _choice(body, "target", (*state.targets, ALL_TARGETS))
    api_error = None
    for emulation in state.emulations.values():
        special = emulation.api_error_fault
        if special is None:
            continue
        code = _int(body, special.param, minimum=1, maximum=100_000)
        if code is not None and target != special.target:
            raise BadRequest(f"{special.param} applies to target {special.target} only")
        api_error = code if code is not None else api_error
    drop = body.get("drop", False)
    if not isinstance(drop, bool):
        raise BadRequest("drop must be true or false")
    fault = Fault(
        latency_ms=_int_or(body, "latency_ms", 0, minimum=0, maximum=MAX_LATENCY_MS),
        status=_int(body, "status", minimum=200, maximum=599),
        api_error=api_error,
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
    provider = _choice(body, "provider", state.providers)
    emulation = state.emulations[provider]
    kind = _choice(body, "kind", emulation.kinds, default=OAUTH)
    count = _int_or(body, "count", 1, minimum=1, maximum=MAX_MINT)
    tokens = []
    for issued in state.mint(provider, count, _account(state, body, provider), kind):
        entry = {
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
            "expires_in": issued.expires_in,
            "account_id": issued.account_id,
            **emulation.minted(issued),
        }
        tokens.append(entry)
    return json_response({"tokens": tokens})


def cloud_token(state: SandboxState, request: Request) -> Response:
    """An account's current installation (cloud) token: the same one the provider's page shows.

    `provider` defaults to the first provider that has installation tokens."""
    body = request.json()
    installable = tuple(key for key, emulation in state.emulations.items() if CLOUD in emulation.kinds)
    if not installable:
        raise BadRequest("no provider has installation tokens")
    provider = _choice(body, "provider", installable, default=installable[0])
    account_id = _account(state, body, provider) or state.emulations[provider].default_account()
    return json_response({"token": state.cloud_token(provider, account_id)})


def get_config(state: SandboxState, request: Request) -> Response:
    return json_response(state.config())


def set_config(state: SandboxState, request: Request) -> Response:
    body = request.json()
    values = {name: _required_int(body, name, minimum=1, maximum=10 * 365 * 24 * 3600) for name in body}
    try:
        return json_response(state.configure(**values))
    except ValueError as exc:
        raise BadRequest(f"{exc}; known: {', '.join(state.default_config)}") from None


def stats(state: SandboxState, request: Request) -> Response:
    return json_response(state.stats())
