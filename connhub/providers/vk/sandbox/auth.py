"""VK ID at id.vk.com, emulated: the consent screen (`/authorize`), code exchange and refresh with
PKCE and `device_id`, user info and revocation. Refresh tokens are single-use; every exchange and
refresh must present the `device_id` the authorize redirect handed out."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from typing import Any

from connhub.providers.vk.sandbox.constants import VK, VK_ACCOUNTS, VK_CLIENT_ID, VK_SCOPE
from connhub.sandbox import consent
from connhub.sandbox.state import GrantRejected, Issued, SandboxState
from connhub.sandbox.web import Request, Response, json_response


def account_label(account_id: str) -> str:
    user = VK_ACCOUNTS[account_id]
    return f"{user['first_name']} {user['last_name']}"

PKCE_VALUE = re.compile(r"[A-Za-z0-9_-]{43,128}")
S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


def s256(verifier: str) -> str:
    """The PKCE S256 challenge for a verifier: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


# ----- id.vk.com/authorize -----

def _check_authorize(params: dict[str, str]) -> tuple[str, str] | None:
    if params.get("response_type") != "code":
        return "unsupported_response_type", "response_type must be code"
    if not params.get("state"):
        return "invalid_request", "state is required"
    if "code_verifier" in params:
        return "invalid_request", "code_verifier must not be sent to authorize"
    if not params.get("code_challenge"):
        return "invalid_request", "code_challenge is required"
    if params.get("code_challenge_method", "").lower() != "s256":
        return "invalid_request", "code_challenge_method must be S256"
    if not S256_CHALLENGE.fullmatch(params["code_challenge"]):
        return "invalid_request", "code_challenge is not a base64url SHA-256 value"
    return None


def _approve(state: SandboxState, params: dict[str, str], account_id: str) -> dict[str, str]:
    device_id = secrets.token_urlsafe(32)
    code = state.new_code(VK, client_id=params["client_id"], redirect_uri=params["redirect_uri"],
                          account_id=account_id, code_challenge=params["code_challenge"], device_id=device_id,
                          scopes=params.get("scope", "").split() or [VK_SCOPE])
    return {
        "code": code,
        "type": "code_v2",
        "state": params["state"],
        "device_id": device_id,
        "expires_in": str(state.config()["code_ttl"]),
    }


CONSENT = consent.ConsentFlow(
    provider=VK,
    title="VK ID",
    client_id=VK_CLIENT_ID,
    fields=("response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method",
            "scope"),
    check=_check_authorize,
    scopes=lambda params: params.get("scope", "").split() or [VK_SCOPE],
    scope_text={VK_SCOPE: "вашим имени, фамилии и фото профиля", "groups": "сообществам, которыми вы управляете",
                "market": "товарам ваших сообществ", "photos": "загрузке фотографий"},
    approve=_approve,
)


def authorize(state: SandboxState, request: Request) -> Response:
    return consent.handle(CONSENT, state, request)


# ----- id.vk.com/oauth2/* -----

def _id_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def _client_problem(params: dict[str, str]) -> Response | None:
    if not params.get("client_id"):
        return _id_error("invalid_request", "client_id is required")
    if params["client_id"] != VK_CLIENT_ID:
        return _id_error("invalid_client", "client_id is unknown")
    return None


def _missing(params: dict[str, str], *names: str) -> Response | None:
    for name in names:
        if not params.get(name):
            return _id_error("invalid_request", f"{name} is required")
    return None


def _id_token(issued: Issued) -> str:
    """A JWT-shaped id_token. Clients must treat it as opaque; the signature is random bytes."""
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    now = int(time.time())
    claims = {"iss": "VK", "sub": int(issued.account_id), "aud": VK_CLIENT_ID, "iat": now, "exp": now + 3600}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.{secrets.token_urlsafe(64)}"


def _token_answer(issued: Issued, state: str, *, with_id_token: bool) -> Response:
    answer: dict[str, Any] = {"access_token": issued.access_token, "refresh_token": issued.refresh_token}
    if with_id_token:
        answer["id_token"] = _id_token(issued)
    answer.update({
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "user_id": int(issued.account_id),
        "state": state,
        "scope": " ".join(issued.scopes) or VK_SCOPE,
    })
    return json_response(answer)


def token(state: SandboxState, request: Request) -> Response:
    """POST /oauth2/auth: code exchange and refresh. Query and body parameters merge; body wins."""
    params = request.params
    problem = _client_problem(params)
    if problem is not None:
        return problem
    grant_type = params.get("grant_type")
    try:
        if grant_type == "authorization_code":
            problem = _missing(params, "code", "code_verifier", "device_id", "redirect_uri", "state")
            if problem is not None:
                return problem
            if "code_challenge" in params:
                return _id_error("invalid_request", "code_challenge must not be sent with code_verifier")
            verifier = params["code_verifier"]
            if not PKCE_VALUE.fullmatch(verifier):
                return _id_error("invalid_grant", "code_verifier is invalid")
            issued = state.redeem_code(VK, params["code"], client_id=params["client_id"],
                                       redirect_uri=params["redirect_uri"], code_challenge=s256(verifier),
                                       device_id=params["device_id"])
            return _token_answer(issued, params["state"], with_id_token=True)
        if grant_type == "refresh_token":
            problem = _missing(params, "refresh_token", "device_id", "state")
            if problem is not None:
                return problem
            issued = state.refresh(VK, params["refresh_token"], client_id=params["client_id"],
                                   device_id=params["device_id"])
            return _token_answer(issued, params["state"], with_id_token=False)
    except GrantRejected as rejected:
        return _id_error(rejected.error, rejected.description)
    if not grant_type:
        return _id_error("invalid_request", "grant_type is required")
    return _id_error("unsupported_grant_type", f"grant_type {grant_type} is not supported")


def user_info(state: SandboxState, request: Request) -> Response:
    params = request.params
    problem = _client_problem(params) or _missing(params, "access_token")
    if problem is not None:
        return problem
    check = state.check_access(VK, params["access_token"])
    if check.verdict in ("banned", "deleted"):
        return _id_error("access_denied", "user was deleted or banned", 401)
    if check.verdict != "ok":
        return _id_error("invalid_token", f"access token is {check.verdict}", 401)
    user = VK_ACCOUNTS[check.account_id or ""]
    return json_response({"user": {
        "user_id": str(user["id"]),
        "first_name": user["first_name"],
        "last_name": user["last_name"],
        "avatar": "",
    }})


def revoke(state: SandboxState, request: Request) -> Response:
    """Revoke the grant behind an access token. Like RFC 7009, an unknown token is not an error."""
    params = request.params
    problem = _client_problem(params) or _missing(params, "access_token")
    if problem is not None:
        return problem
    state.revoke(VK, token=params["access_token"])
    return json_response({"response": 1})


