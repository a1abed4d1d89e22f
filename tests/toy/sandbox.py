"""The toy provider's emulation: a consent screen, a token endpoint, `GET /toy/api/me`."""

from __future__ import annotations

import secrets
from typing import Any

from connhub.sandbox import consent
from connhub.sandbox.emulation import Emulation, Route
from connhub.sandbox.state import GrantRejected, Issued, SandboxState
from connhub.sandbox.web import Request, Response, json_response

TOY = "toy"
CLIENT_ID = "sandbox-toy-client"
CLIENT_SECRET = "sandbox-toy-secret"
ACCOUNTS: dict[str, dict[str, Any]] = {
    "toy-1": {"id": "toy-1", "name": "Плюшевый мишка"},
    "toy-2": {"id": "toy-2", "name": "Деревянная лошадка"},
}


def _approve(state: SandboxState, params: dict[str, str], account_id: str) -> dict[str, str]:
    code = state.new_code(TOY, client_id=params["client_id"], redirect_uri=params["redirect_uri"],
                          account_id=account_id)
    return {"code": code, "state": params.get("state", "")}


CONSENT = consent.ConsentFlow(
    provider=TOY, title="Игрушка", client_id=CLIENT_ID, fields=("client_id", "response_type", "redirect_uri", "state"),
    check=lambda params: None if params.get("response_type") == "code" else ("unsupported_response_type", "code"),
    scopes=lambda params: ["toy:read"], scope_text={"toy:read": "вашему имени"}, approve=_approve,
)


def authorize(state: SandboxState, request: Request) -> Response:
    return consent.handle(CONSENT, state, request)


def _answer(issued: Issued) -> Response:
    return json_response({"access_token": issued.access_token, "refresh_token": issued.refresh_token,
                          "expires_in": issued.expires_in, "token_type": "bearer"})


def token(state: SandboxState, request: Request) -> Response:
    params = request.params
    if (params.get("client_id"), params.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
        return json_response({"error": "invalid_client"}, 401)
    try:
        if params.get("grant_type") == "authorization_code":
            return _answer(state.redeem_code(TOY, params.get("code", ""), client_id=CLIENT_ID,
                                             redirect_uri=params.get("redirect_uri", "")))
        if params.get("grant_type") == "refresh_token":
            return _answer(state.refresh(TOY, params.get("refresh_token", ""), client_id=CLIENT_ID))
    except GrantRejected as rejected:
        return json_response({"error": rejected.error, "error_description": rejected.description}, 400)
    return json_response({"error": "unsupported_grant_type"}, 400)


def me(state: SandboxState, request: Request) -> Response:
    scheme, _, presented = (request.headers.get("Authorization") or "").partition(" ")
    check = state.check_access(TOY, presented.strip()) if scheme.lower() == "bearer" else None
    if check is None or check.verdict != "ok" or check.account_id is None:
        return json_response({"error": "invalid_token"}, 401)
    return json_response(ACCOUNTS[check.account_id])


EMULATION = Emulation(
    provider=TOY,
    title="Игрушка",
    client_id=CLIENT_ID,
    client_secret=CLIENT_SECRET,
    accounts=ACCOUNTS,
    label=lambda account_id: str(ACCOUNTS[account_id]["name"]),
    routes=(
        Route("/toy/authorize", {"GET": authorize, "POST": authorize}, "Игрушка: экран согласия"),
        Route("/toy/token", {"POST": token}, "Игрушка: токены"),
        Route("/toy/api/me", {"GET": me}, "Игрушка: кто я"),
    ),
    targets=(("/toy/api/", "toy-api"), ("/toy/", "toy-oauth")),
    env=lambda base: {"TOY_URL": f"{base}/toy", "TOY_CLIENT_ID": CLIENT_ID, "TOY_CLIENT_SECRET": CLIENT_SECRET},
    new_token=lambda: "toy-" + secrets.token_urlsafe(24),
    access_ttl=("toy_access_ttl", 3600),
    oauth_targets=frozenset({"toy-oauth"}),
)
