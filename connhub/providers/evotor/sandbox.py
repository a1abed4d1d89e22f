"""Evotor's side, emulated: OAuth at oauth.evotor.ru, `GET /stores` at api.evotor.ru, the app's
market page, and the demo accounts.

Shapes follow docs/providers.md («Evotor»): Spring-OAuth style token answers, v2 paginated
`{"items", "paging"}`, both `Authorization: Bearer` and the legacy `X-Authorization` header.
The sandbox hosts it (`connhub.sandbox`); it never imports connhub's Evotor client.
A little over 300 lines: the seed accounts, four endpoints and the market page, marked by section
comments.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from html import escape
from typing import Any
from urllib.parse import quote, unquote_plus

from connhub.providers.evotor import sandbox_catalog
from connhub.sandbox import consent
from connhub.sandbox.emulation import Emulation, Route
from connhub.sandbox.pages import error_page, page
from connhub.sandbox.state import CLOUD, OAUTH, GrantRejected, Issued, SandboxState
from connhub.sandbox.web import Request, Response, html_response, json_response, redirect

EVOTOR = "evotor"
EVOTOR_CLIENT_ID = "sandbox-evotor-client"
EVOTOR_CLIENT_SECRET = "sandbox-evotor-secret"
EVOTOR_SCOPE = "store:read"

# Demo accounts; never mutated (grants carry the marks set by /_sandbox/revoke).
EVOTOR_ACCOUNTS: dict[str, tuple[dict[str, str], ...]] = {
    "01-000000000000001": (
        {
            "id": "20170228-F4F1-401B-80FA-9ECCA8451FFB",
            "name": "Чайная",
            "address": "Россия, г. Москва, ул. Тимура Фрунзе, 24",
        },
        {
            "id": "20190412-A1B2-4C3D-8E9F-0A1B2C3D4E5F",
            "name": "Кофейня на Садовой",
            "address": "Россия, г. Москва, Садовая ул., 5",
        },
    ),
    "01-000000000000002": (
        {
            "id": "20200101-1111-4222-8333-444455556666",
            "name": "Пекарня",
            "address": "Россия, г. Казань, ул. Баумана, 10",
        },
    ),
}
STORE_CREATED_AT = "2018-04-17T10:11:49.393+0000"
STORE_UPDATED_AT = "2018-07-16T16:00:10.663+0000"

# Evotor's rate-limit headers describe a per-user window; the sandbox reports it but never enforces
# it (a 429 comes only from a fault), so load tests and health checks stay deterministic.
EVOTOR_RATE_LIMIT = 100
EVOTOR_RATE_WINDOW = 60


def account_label(account_id: str) -> str:
    """How the consent screen and the market page name an account: its stores."""
    return ", ".join(store["name"] for store in EVOTOR_ACCOUNTS[account_id])


def evotor_stores(account_id: str) -> list[dict[str, Any]]:
    """The account's stores in the shape of a GET /stores item."""
    return [
        {**store, "user_id": account_id, "created_at": STORE_CREATED_AT, "updated_at": STORE_UPDATED_AT}
        for store in EVOTOR_ACCOUNTS[account_id]
    ]


def default_account() -> str:
    return next(iter(EVOTOR_ACCOUNTS))

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


# ----- market.evotor.ru: the app's «Настройки» tab -----

def market(state: SandboxState, request: Request) -> Response:
    """GET shows the account's cloud token; POST («Выпустить новый токен») replaces it."""
    account_id = request.params.get("account") or default_account()
    if account_id not in EVOTOR_ACCOUNTS:
        return html_response(error_page("Нет такого аккаунта Эвотор."), 404)
    if request.method == "POST":
        state.reissue_cloud_token(EVOTOR, account_id)
        return redirect(f"/evotor/market?account={quote(account_id)}", 303)
    accounts = [(other, account_label(other)) for other in EVOTOR_ACCOUNTS]
    return html_response(market_page(account_id=account_id, token=state.cloud_token(EVOTOR, account_id),
                                     accounts=accounts))


def market_page(*, account_id: str, token: str, accounts: list[tuple[str, str]]) -> str:
    """The Evotor app page, «Настройки» tab, where a user copies the app's cloud token."""
    switcher = " · ".join(
        f'<a href="/evotor/market?account={escape(quote(other))}" data-account="{escape(other)}">'
        + (f"<b>{escape(label)}</b>" if other == account_id else escape(label))
        + "</a>"
        for other, label in accounts
    )
    return page(
        "Эвотор · connhub",
        '<p class="muted">Эвотор · Личный кабинет · Мои приложения</p>'
        "<h1>connhub</h1>"
        '<nav><span class="muted">Описание</span> <b>Настройки</b></nav>'
        "<h2>Токен приложения</h2>"
        f'<p><code id="cloud-token">{escape(token)}</code></p>'
        '<p class="muted">Скопируйте токен и вставьте его в connhub.</p>'
        '<form method="post" action="/evotor/market">'
        f'<input type="hidden" name="account" value="{escape(account_id)}">'
        '<button type="submit" id="reissue">Выпустить новый токен</button>'
        "</form>"
        f'<p class="muted">Аккаунт ({escape(account_id)}): {switcher}</p>',
    )


def env(base_url: str) -> dict[str, str]:
    return {
        "EVOTOR_OAUTH_URL": f"{base_url}/evotor",
        "EVOTOR_API_URL": f"{base_url}/evotor/api",
        "EVOTOR_CLIENT_ID": EVOTOR_CLIENT_ID,
        "EVOTOR_CLIENT_SECRET": EVOTOR_CLIENT_SECRET,
    }


EMULATION = Emulation(
    provider=EVOTOR,
    title="Эвотор",
    client_id=EVOTOR_CLIENT_ID,
    client_secret=EVOTOR_CLIENT_SECRET,
    accounts=EVOTOR_ACCOUNTS,
    label=account_label,
    routes=(
        Route("/evotor/oauth/authorize", {"GET": authorize, "POST": authorize}, "Эвотор: экран согласия OAuth"),
        Route("/evotor/oauth/token", {"POST": token}, "Эвотор: обмен кода и обновление токенов"),
        Route("/evotor/api/stores", {"GET": stores}, "Эвотор: список магазинов"),
        Route("/evotor/api/stores/", {"GET": sandbox_catalog.api}, "Эвотор: группы и товары магазина", prefix=True),
        Route("/evotor/images/", {"GET": sandbox_catalog.image_file}, "Эвотор: файлы изображений товаров",
              prefix=True),
        Route("/evotor/market", {"GET": market, "POST": market}, "Эвотор: настройки приложения, токен приложения"),
        Route("/_sandbox/evotor-catalog", {"GET": sandbox_catalog.control, "POST": sandbox_catalog.control},
              "управление: каталог Эвотор (товары, 403, 429)"),
    ),
    targets=(("/evotor/api/", "evotor-api"), ("/evotor/oauth/", "evotor-oauth"), ("/evotor/images/", "evotor-images")),
    env=env,
    new_token=lambda: str(uuid.uuid4()),  # Evotor tokens are UUIDs
    access_ttl=("evotor_access_ttl", 604799),
    oauth_targets=frozenset({"evotor-oauth"}),
    fault_headers={"evotor-api": {"X-RateLimit-Limit": str(EVOTOR_RATE_LIMIT), "X-RateLimit-Remaining": "0"}},
    revoke_modes=("revoke", "uninstall", "unpaid"),
    refresh_refusals={"uninstall": ("application is not installed", "invalid_grant")},
    kinds=(OAUTH, CLOUD),
    links=(("/evotor/market", "Личный кабинет Эвотор: токен приложения"),),
    extra_state=sandbox_catalog.SandboxCatalog,
)

