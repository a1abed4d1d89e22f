"""VK's side, emulated: VK ID (OAuth 2.1 with PKCE and `device_id`) at id.vk.com, `users.get` at api.vk.com.

Shapes follow docs/providers.md («VK»). The gotchas are reproduced on purpose: API
errors are HTTP 200 with an `error` object, `v` is mandatory, refresh tokens are single-use,
every exchange and refresh must present the `device_id` the authorize redirect handed out.
Past 300 lines because each of those gotchas is reproduced with VK's own error texts; the parts
(VK ID, the API, the emulation's description) are marked by section comments.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import quote

from connhub.providers.vk import goods_sandbox
from connhub.providers.vk.goods_sandbox import Caller, GoodsState
from connhub.sandbox import consent
from connhub.sandbox.emulation import ApiErrorFault, Emulation, Route
from connhub.sandbox.pages import error_page, page
from connhub.sandbox.state import CLOUD, GrantRejected, Issued, SandboxState
from connhub.sandbox.web import BadRequest, Request, Response, html_response, json_response

VK = "vk"
VK_CLIENT_ID = "sandbox-vk-client"
VK_SCOPE = "vkid.personal_info"

# VK users keyed by their id as a string, the form every account id takes inside the sandbox.
VK_ACCOUNTS: dict[str, dict[str, Any]] = {
    "743784474": {"id": 743784474, "first_name": "Иван", "last_name": "Иванов"},
    "100200300": {"id": 100200300, "first_name": "Мария", "last_name": "Петрова"},
}


def account_label(account_id: str) -> str:
    user = VK_ACCOUNTS[account_id]
    return f"{user['first_name']} {user['last_name']}"

PKCE_VALUE = re.compile(r"[A-Za-z0-9_-]{43,128}")
S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")

# error_msg for each error_code, as api.vk.com words them (vk-api-schema errors.json).
API_ERRORS = {
    1: "Unknown error occurred",
    2: "Application is disabled. Enable your application or use test mode",
    3: "Unknown method passed",
    5: "User authorization failed: invalid session.",
    6: "Too many requests per second",
    7: "Permission to perform this action is denied",
    8: "Invalid request: v (version) is required",
    9: "Flood control",
    10: "Internal server error",
    14: "Captcha needed",
    15: "Access denied",
    17: "Validation required: please open redirect_uri in browser",
    18: "User was deleted or banned",
    24: "Confirmation required",
    27: "Group authorization failed: method is unavailable with group auth.",
    28: "Application authorization failed: method is unavailable with service token.",
    29: "Rate limit reached",
    100: "One of the parameters specified was missing or invalid",
}

# users.get answers for an access token that is not "ok", by TokenCheck verdict.
_TOKEN_ERRORS = {
    "unknown": (5, "User authorization failed: invalid access_token (4)."),
    "expired": (5, "User authorization failed: access_token has expired."),
    "revoked": (5, "User authorization failed: user revoke access for this token."),
    "banned": (18, API_ERRORS[18]),
    "deleted": (18, API_ERRORS[18]),
}

_EXTRA_FIELDS: dict[str, Callable[[dict[str, Any]], str]] = {
    "photo_50": lambda user: "https://vk.com/images/camera_50.png",
    "photo_100": lambda user: "https://vk.com/images/camera_100.png",
    "photo_200": lambda user: "https://vk.com/images/camera_200.png",
    "screen_name": lambda user: f"id{user['id']}",
}


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


# ----- api.vk.com/method/* -----

def _request_params(request: Request, method: str) -> list[dict[str, str]]:
    """What VK echoes as `request_params`: method, oauth, then the caller's parameters but the token."""
    echoed = [{"key": "method", "value": method}, {"key": "oauth", "value": "1"}]
    echoed += [{"key": key, "value": value} for key, value in request.query + request.form if key != "access_token"]
    return echoed


def api_error(request: Request, method: str, code: int, message: str | None = None) -> Response:
    """A VK API error: always HTTP 200, an `error` object and no `response`."""
    error = {
        "error_code": code,
        "error_msg": message or API_ERRORS.get(code, API_ERRORS[1]),
        "request_params": _request_params(request, method),
    }
    if code == 14:
        sid = str(secrets.randbelow(10**12))
        error.update(captcha_sid=sid, captcha_img=f"https://api.vk.com/captcha.php?sid={sid}&s=1")
    elif code == 17:
        error["redirect_uri"] = f"https://m.vk.com/login?act=security_check&api_hash={secrets.token_hex(10)}"
    elif code == 24:
        error["confirmation_text"] = "Подтвердите действие"
    return json_response({"error": error})


def method_name(request: Request) -> str:
    return request.path.rpartition("/")[2]


def api_method(state: SandboxState, request: Request) -> Response:
    """GET|POST /method/<name>: users.get here, the goods methods and execute in goods_sandbox."""
    method = method_name(request)
    params = request.params
    if method not in goods_sandbox.METHODS:
        return api_error(request, method, 3)
    if not params.get("v"):
        return api_error(request, method, 8)
    scheme, _, header_token = (request.headers.get("Authorization") or "").partition(" ")
    token = header_token.strip() if scheme.lower() == "bearer" else ""
    token = token or params.get("access_token", "")
    if not token:
        return api_error(request, method, 5, "User authorization failed: no access_token passed.")
    check = state.check_access(VK, token)
    if check.verdict != "ok":
        code, message = _TOKEN_ERRORS.get(check.verdict, _TOKEN_ERRORS["unknown"])
        return api_error(request, method, code, message)
    goods: GoodsState = state.extra(VK)
    if not goods.admit(token, method):
        return api_error(request, method, 6)
    caller = Caller(token=token, account_id=str(check.account_id), scopes=frozenset(check.scopes))
    body, failure = goods_sandbox.answer_api(goods, caller, method, params,
                                             base_url=goods_sandbox.base_url_of(request))
    if failure is not None:
        return api_error(request, method, failure.code, failure.message)
    return json_response(body)


def users_get(goods: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    """users.get: the token's owner by default, or the users named in `user_ids`."""
    wanted = [part.strip() for part in params.get("user_ids", "").split(",") if part.strip()]
    if wanted:
        users = [VK_ACCOUNTS[user_id] for user_id in wanted if user_id in VK_ACCOUNTS]
    else:
        users = [VK_ACCOUNTS[caller.account_id]]
    fields = [name.strip() for name in params.get("fields", "").split(",") if name.strip() in _EXTRA_FIELDS]
    return [_user(user, fields) for user in users]


def _user(user: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    answer = {**user, "can_access_closed": True, "is_closed": False}
    answer.update({name: _EXTRA_FIELDS[name](user) for name in fields})
    return answer


def env(base_url: str) -> dict[str, str]:
    # The sandbox's VK app has the extended rights approved, so VK ID is asked for what the sync needs.
    return {"VK_ID_URL": f"{base_url}/vkid", "VK_API_URL": f"{base_url}/vk", "VK_CLIENT_ID": VK_CLIENT_ID,
            "VK_SCOPES": f"{VK_SCOPE} {' '.join(RIGHT_SCOPES)}"}


def _api_error_fault(request: Request, code: int) -> Response:
    return api_error(request, method_name(request), code)


# ----- the goods side: upload server, token page, control routes -----

RIGHT_SCOPES = ("groups", "market", "photos")


def upload_photo(state: SandboxState, request: Request) -> Response:
    """POST /vk/upload/photo?token=…: the photo upload server (multipart field `file`)."""
    goods: GoodsState = state.extra(VK)
    data = goods_sandbox.multipart_file(request.headers.get("Content-Type") or "", request.body)
    reply = goods.receive_upload(request.params.get("token", ""), data)
    return Response(200, reply.encode(), "application/json; charset=utf-8")


def token_page(state: SandboxState, request: Request) -> Response:
    """GET: pick an account and rights; POST: a VK user token with them, to paste into connhub."""
    account_id = request.params.get("account") or EMULATION.default_account()
    if account_id not in VK_ACCOUNTS:
        return html_response(error_page("Нет такого пользователя ВКонтакте."), 404)
    chosen = [scope for scope in RIGHT_SCOPES if request.params.get(scope) == "1"]
    token = ""
    if request.method == "POST":
        [issued] = state.mint(VK, 1, account_id, CLOUD, [VK_SCOPE, *chosen])
        token = issued.access_token
    else:
        chosen = list(RIGHT_SCOPES)
    switcher = " · ".join(
        f'<a href="/vk/token?account={escape(quote(other))}" data-account="{escape(other)}">'
        + (f"<b>{escape(account_label(other))}</b>" if other == account_id else escape(account_label(other)))
        + "</a>"
        for other in VK_ACCOUNTS
    )
    boxes = "".join(
        f'<label><input type="checkbox" name="{scope}" value="1"{" checked" if scope in chosen else ""}> '
        f"{escape(CONSENT.scope_text[scope])} ({scope})</label><br>"
        for scope in RIGHT_SCOPES
    )
    shown = (f'<h2>Ключ доступа</h2><p><code id="vk-token">{escape(token)}</code></p>'
             '<p class="muted">Скопируйте ключ и вставьте его в connhub. Ключ бессрочный.</p>') if token else ""
    body = (
        '<p class="muted">ВКонтакте · Управление приложениями · connhub</p>'
        "<h1>Ключ доступа пользователя</h1>"
        f'<form method="post" action="/vk/token"><input type="hidden" name="account" value="{escape(account_id)}">'
        f"<p>Права ключа:</p>{boxes}"
        '<button type="submit" id="issue">Получить ключ</button></form>'
        f"{shown}"
        f'<p class="muted">Пользователь ({escape(account_id)}): {switcher}</p>'
    )
    return html_response(page("ВКонтакте · ключ доступа", body))


def _body_int(body: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be an integer")
    return value


def _community(body: dict[str, Any]) -> int:
    group_id = _body_int(body, "group_id", required=True)
    if group_id not in goods_sandbox.COMMUNITIES:
        raise BadRequest(f"unknown group_id {group_id}; known: {', '.join(map(str, goods_sandbox.COMMUNITIES))}")
    return int(group_id)


def control_user_token(state: SandboxState, request: Request) -> Response:
    """POST /_sandbox/vk/user-token {account_id?, scopes: [...]}: a non-expiring user token."""
    body = request.json()
    account_id = str(body.get("account_id") or EMULATION.default_account())
    if account_id not in VK_ACCOUNTS:
        raise BadRequest(f"unknown account_id {account_id!r}")
    scopes = body.get("scopes", list(RIGHT_SCOPES))
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise BadRequest("scopes must be a list of strings")
    [issued] = state.mint(VK, 1, account_id, CLOUD, [VK_SCOPE, *scopes])
    return json_response({"token": issued.access_token, "account_id": account_id, "scopes": list(issued.scopes)})


def control_goods(state: SandboxState, request: Request) -> Response:
    """POST /_sandbox/vk/goods {group_id, goods_enabled?, item_limit?} and/or {require_photo?, rate_limit?}."""
    body = request.json()
    goods: GoodsState = state.extra(VK)
    changes: dict[str, Any] = {}
    if "group_id" in body:
        changes["group_id"] = _community(body)
        if "goods_enabled" in body:
            if not isinstance(body["goods_enabled"], bool):
                raise BadRequest("goods_enabled must be true or false")
            changes["goods_enabled"] = body["goods_enabled"]
        if "item_limit" in body:
            limit = _body_int(body, "item_limit")
            if limit is not None and limit < 0:
                raise BadRequest("item_limit must be at least 0, or null for no limit")
            changes["item_limit"] = limit
    if "require_photo" in body:
        if not isinstance(body["require_photo"], bool):
            raise BadRequest("require_photo must be true or false")
        changes["require_photo"] = body["require_photo"]
    if "rate_limit" in body:
        rate = _body_int(body, "rate_limit")
        if rate is None or rate < 0:
            raise BadRequest("rate_limit must be an integer, 0 for none")
        changes["rate_limit"] = rate
    return json_response(goods.configure(**changes))


def control_items(state: SandboxState, request: Request) -> Response:
    """GET ?group_id=: every item, deleted ones too; POST {group_id, count, sku_prefix?}: seed items."""
    goods: GoodsState = state.extra(VK)
    if request.method == "GET":
        try:
            group_id = int(request.params.get("group_id", ""))
        except ValueError:
            raise BadRequest("group_id must be an integer") from None
        return json_response({"items": goods.list_items(group_id)})
    body = request.json()
    group_id = _community(body)
    count = _body_int(body, "count", required=True) or 0
    if not 0 < count <= 20000:
        raise BadRequest("count must be from 1 to 20000")
    return json_response({"ids": goods.seed_items(group_id, count, str(body.get("sku_prefix", "seed-")))})


def control_delete_item(state: SandboxState, request: Request) -> Response:
    """POST /_sandbox/vk/delete-item {group_id, item_id}: delete an item for good, "by hand"."""
    body = request.json()
    goods: GoodsState = state.extra(VK)
    if not goods.delete_by_hand(_community(body), _body_int(body, "item_id", required=True) or 0):
        raise BadRequest("no such item in that community")
    return json_response({"ok": True})


def control_calls(state: SandboxState, request: Request) -> Response:
    """GET: API requests and calls by method (calls inside execute too); DELETE: start counting anew."""
    goods: GoodsState = state.extra(VK)
    if request.method == "DELETE":
        goods.reset_stats()
    return json_response(goods.stats())


EMULATION = Emulation(
    provider=VK,
    title="VK ID",
    client_id=VK_CLIENT_ID,
    accounts=VK_ACCOUNTS,
    label=account_label,
    routes=(
        Route("/vkid/authorize", {"GET": authorize, "POST": authorize}, "VK ID: экран согласия"),
        Route("/vkid/oauth2/auth", {"POST": token}, "VK ID: обмен кода и обновление токенов"),
        Route("/vkid/oauth2/user_info", {"POST": user_info}, "VK ID: данные пользователя"),
        Route("/vkid/oauth2/revoke", {"POST": revoke}, "VK ID: отзыв доступа"),
        Route("/vk/method/", {"GET": api_method, "POST": api_method},
              "VK API: users.get, groups.get, market.*, execute", prefix=True),
        Route("/vk/upload/photo", {"POST": upload_photo}, "VK: сервер загрузки фото товаров"),
        Route("/vk/token", {"GET": token_page, "POST": token_page}, "VK: ключ доступа пользователя с правами"),
        Route("/_sandbox/vk/user-token", {"POST": control_user_token}, "управление: ключ VK с правами"),
        Route("/_sandbox/vk/goods", {"POST": control_goods},
              "управление: товары сообщества вкл/выкл, предел товаров, обязательное фото, лимит запросов"),
        Route("/_sandbox/vk/items", {"GET": control_items, "POST": control_items},
              "управление: товары сообщества (все) / добавить товары"),
        Route("/_sandbox/vk/delete-item", {"POST": control_delete_item}, "управление: удалить товар «вручную»"),
        Route("/_sandbox/vk/calls", {"GET": control_calls, "DELETE": control_calls},
              "управление: счётчики вызовов VK по методам"),
    ),
    targets=(("/vkid/", "vk-id"), ("/vk/", "vk-api")),
    env=env,
    new_token=lambda: "vk2.a." + secrets.token_urlsafe(64),  # VK ID tokens are long opaque strings
    access_ttl=("vk_access_ttl", 3600),
    oauth_targets=frozenset({"vk-id"}),
    revoke_modes=("revoke", "banned", "deleted"),
    refresh_refusals={"banned": ("user was deleted or banned", "access_denied"),
                      "deleted": ("user was deleted or banned", "access_denied")},
    binds_device=True,
    minted=lambda issued: {"device_id": issued.device_id, "user_id": int(issued.account_id)},
    api_error_fault=ApiErrorFault(param="vk_error", target="vk-api", answer=_api_error_fault),
    links=(("/vk/token", "ВКонтакте: ключ доступа пользователя"),),
    extra_state=lambda: GoodsState(more_methods={"users.get": users_get}),
)
