"""Evotor's side: OAuth at oauth.evotor.ru, `GET /stores` at api.evotor.ru, the app's market page.

Shapes follow shared/reference/providers.md §1–5: Spring-OAuth style token answers, v2 paginated
`{"items", "paging"}`, both `Authorization: Bearer` and the legacy `X-Authorization` header.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import quote, unquote_plus

from connhub.sandbox import consent
from connhub.sandbox.accounts import (
    EVOTOR,
    EVOTOR_ACCOUNTS,
    EVOTOR_CLIENT_ID,
    EVOTOR_CLIENT_SECRET,
    EVOTOR_SCOPE,
    account_label,
    default_account,
    evotor_stores,
)
from connhub.sandbox.pages import error_page, market_page
from connhub.sandbox.state import EVOTOR_RATE_LIMIT, GrantRejected, Issued, SandboxState
from connhub.sandbox.web import Request, Response, html_response, json_response, redirect

MAX_PAGE = 1000  # also the default page size, as documented for v2 lists

# What a token that is not "ok" answers on the API, by TokenCheck verdict; anything else is 401.
_REFUSALS = {
    "uninstall": (403, {"code": "forbidden", "message": "application is not installed"}),
    "unpaid": (402, {"code": "payment_required", "message": "subscription expired"}),
}
_UNAUTHORIZED = (401, {"code": "unauthorized", "message": "invalid token"})


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


# ----- api.evotor.ru/stores -----

def _presented_tokens(request: Request) -> list[str]:
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
    checks = [state.check_access(EVOTOR, presented) for presented in _presented_tokens(request)]
    owner = next((check.account_id for check in checks if check.verdict == "ok"), None)
    if owner is None:
        refusal = next((_REFUSALS[check.verdict] for check in checks if check.verdict in _REFUSALS), _UNAUTHORIZED)
        return json_response(refusal[1], refusal[0])

    limit_text = request.params.get("limit", str(MAX_PAGE))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_PAGE:
        return _validation_failed("limit", f"must be between 1 and {MAX_PAGE}")
    offset = 0
    if "cursor" in request.params:
        offset = _decode_cursor(request.params["cursor"])
        if offset is None:
            return _validation_failed("cursor", "invalid cursor")
    end = offset + int(limit_text)
    items = evotor_stores(owner)
    paging = {"next_cursor": _encode_cursor(end)} if end < len(items) else {}

    remaining, reset = state.evotor_rate(owner)
    headers = {
        "X-RateLimit-Limit": str(EVOTOR_RATE_LIMIT),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }
    return json_response({"items": items[offset:end], "paging": paging}, headers=headers)


# ----- market.evotor.ru: the app's «Настройки» tab -----

def market(state: SandboxState, request: Request) -> Response:
    """GET shows the account's cloud token; POST («Выпустить новый токен») replaces it."""
    account_id = request.params.get("account") or default_account(EVOTOR)
    if account_id not in EVOTOR_ACCOUNTS:
        return html_response(error_page("Нет такого аккаунта Эвотор."), 404)
    if request.method == "POST":
        state.reissue_cloud_token(account_id)
        return redirect(f"/evotor/market?account={quote(account_id)}", 303)
    accounts = [(other, account_label(EVOTOR, other)) for other in EVOTOR_ACCOUNTS]
    page = market_page(account_id=account_id, token=state.cloud_token(account_id), accounts=accounts)
    return html_response(page)
