"""OAuth at oauth.evotor.ru, emulated: the consent screen and the token endpoint (Spring-OAuth style
answers, client credentials in the body or by HTTP Basic)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from connhub.providers.evotor.sandbox.constants import EVOTOR, EVOTOR_CLIENT_ID, EVOTOR_CLIENT_SECRET, EVOTOR_SCOPE
from connhub.sandbox import consent
from connhub.sandbox.state import GrantRejected, Issued, SandboxState
from connhub.sandbox.web import Request, Response, json_response

# ----- oauth.evotor.ru/oauth/authorize -----

def _check_authorize(params: dict[str, str]) -> tuple[str, str] | None:
    if params.get("response_type") != "code":
        return "unsupported_response_type", f"Unsupported response types: {params.get('response_type', '')}"
    unknown = [scope for scope in params.get("scope", "").split() if scope != EVOTOR_SCOPE]
    if unknown:
        return "invalid_scope", f"Invalid scope: {' '.join(unknown)}"
    return None


def _approve(state: SandboxState, params: dict[str, str], account_id: str) -> dict[str, str]:
    code = state.new_code(EVOTOR, client_id=params["client_id"], redirect_uri=params["redirect_uri"],
                          account_id=account_id)
    answer = {"code": code}
    if "state" in params:
        answer["state"] = params["state"]
    return answer


CONSENT = consent.ConsentFlow(
    provider=EVOTOR,
    title="Эвотор",
    client_id=EVOTOR_CLIENT_ID,
    fields=("client_id", "response_type", "redirect_uri", "state", "scope"),
    check=_check_authorize,
    scopes=lambda params: [EVOTOR_SCOPE],  # scope is fixed on the client, whatever the URL says
    scope_text={EVOTOR_SCOPE: "списку ваших магазинов"},
    approve=_approve,
)


def authorize(state: SandboxState, request: Request) -> Response:
    return consent.handle(CONSENT, state, request)


# ----- oauth.evotor.ru/oauth/token -----

def _oauth_error(status: int, error: str, description: str) -> Response:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="oauth2/client"'
    return json_response({"error": error, "error_description": description}, status, headers)


def _client_credentials(request: Request) -> tuple[str, str]:
    """Client id and secret from HTTP Basic (form-encoded, RFC 6749 §2.3.1), else from the body."""
    scheme, _, encoded = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return unquote_plus(client_id), unquote_plus(secret)
    return request.params.get("client_id", ""), request.params.get("client_secret", "")


def _token_answer(issued: Issued) -> Response:
    return json_response(
        {
            "access_token": issued.access_token,
            "token_type": "bearer",
            "refresh_token": issued.refresh_token,
            "expires_in": issued.expires_in,
            "scope": EVOTOR_SCOPE,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def token(state: SandboxState, request: Request) -> Response:
    client_id, secret = _client_credentials(request)
    if client_id != EVOTOR_CLIENT_ID or secret != EVOTOR_CLIENT_SECRET:
        return _oauth_error(401, "invalid_client", "Bad client credentials")
    params = request.params
    grant_type = params.get("grant_type")
    if grant_type == "authorization_code":
        missing = [name for name in ("code", "redirect_uri") if not params.get(name)]
        if missing:
            return _oauth_error(400, "invalid_request", f"Missing parameter: {missing[0]}")
        code = params["code"]
        try:
            issued = state.redeem_code(EVOTOR, code, client_id=client_id, redirect_uri=params["redirect_uri"])
        except GrantRejected:
            return _oauth_error(400, "invalid_grant", f"Invalid authorization code: {code}")
        return _token_answer(issued)
    if grant_type == "refresh_token":
        if not params.get("refresh_token"):
            return _oauth_error(400, "invalid_request", "Missing parameter: refresh_token")
        try:
            issued = state.refresh(EVOTOR, params["refresh_token"], client_id=client_id)
        except GrantRejected as rejected:
            return _oauth_error(400, rejected.error, rejected.description)
        return _token_answer(issued)
    if not grant_type:
        return _oauth_error(400, "invalid_request", "Missing grant type")
    return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant_type}")

