"""api.vk.com, emulated: `/method/<name>` (VK's HTTP-200 errors, `v` required, the token checked,
3 requests a second), `users.get`, and the photo upload server."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from connhub.providers.vk.sandbox import wire
from connhub.providers.vk.sandbox.constants import API_ERRORS, TOKEN_ERRORS, VK, VK_ACCOUNTS
from connhub.providers.vk.sandbox.goods import GoodsState
from connhub.providers.vk.sandbox.methods import METHODS
from connhub.providers.vk.sandbox.model import Caller
from connhub.sandbox.state import SandboxState
from connhub.sandbox.web import Request, Response, json_response

_EXTRA_FIELDS: dict[str, Callable[[dict[str, Any]], str]] = {
    "photo_50": lambda user: "https://vk.com/images/camera_50.png",
    "photo_100": lambda user: "https://vk.com/images/camera_100.png",
    "photo_200": lambda user: "https://vk.com/images/camera_200.png",
    "screen_name": lambda user: f"id{user['id']}",
}


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
    """GET|POST /method/<name>: users.get here, the goods methods in methods.py, execute in wire.py."""
    method = method_name(request)
    params = request.params
    if method not in METHODS:
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
        code, message = TOKEN_ERRORS.get(check.verdict, TOKEN_ERRORS["unknown"])
        return api_error(request, method, code, message)
    goods: GoodsState = state.extra(VK)
    if not goods.admit(token, method):
        return api_error(request, method, 6)
    caller = Caller(token=token, account_id=str(check.account_id), scopes=frozenset(check.scopes))
    body, failure = wire.answer_api(goods, caller, method, params,
                                  base_url=wire.base_url_of(request))
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



def api_error_fault(request: Request, code: int) -> Response:
    return api_error(request, method_name(request), code)


def upload_photo(state: SandboxState, request: Request) -> Response:
    """POST /vk/upload/photo?token=…: the photo upload server (multipart field `file`)."""
    goods: GoodsState = state.extra(VK)
    data = wire.multipart_file(request.headers.get("Content-Type") or "", request.body)
    reply = goods.receive_upload(request.params.get("token", ""), data)
    return Response(200, reply.encode(), "application/json; charset=utf-8")

