"""The goods side for people and tests: the page that issues a VK user token with rights, the
control routes under /_sandbox/vk/ (rights, community settings, items, counters), the page that
shows what each sandbox community holds, and `GoodsControl`, their client for tests and benchmarks."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any
from urllib.parse import quote

from connhub.providers.vk.sandbox.auth import CONSENT, account_label
from connhub.providers.vk.sandbox.communities import every_community
from connhub.providers.vk.sandbox.constants import COMMUNITIES, RIGHT_SCOPES, VK, VK_ACCOUNTS, VK_SCOPE
from connhub.providers.vk.sandbox.goods import GoodsState
from connhub.sandbox.pages import error_page, page
from connhub.sandbox.state import CLOUD, SandboxState
from connhub.sandbox.web import BadRequest, Request, Response, html_response, json_response

DEFAULT_ACCOUNT = next(iter(VK_ACCOUNTS))

def token_page(state: SandboxState, request: Request) -> Response:
    """GET: pick an account and rights; POST: a VK user token with them, to paste into connhub."""
    account_id = request.params.get("account") or DEFAULT_ACCOUNT
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
    if group_id not in COMMUNITIES:
        raise BadRequest(f"unknown group_id {group_id}; known: {', '.join(map(str, COMMUNITIES))}")
    return int(group_id)


def control_user_token(state: SandboxState, request: Request) -> Response:
    """POST /_sandbox/vk/user-token {account_id?, scopes: [...]}: a non-expiring user token."""
    body = request.json()
    account_id = str(body.get("account_id") or DEFAULT_ACCOUNT)
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
    """GET ?group_id=: every item, deleted ones too (no group_id: every community's items);
    POST {group_id, count, sku_prefix?}: seed items."""
    goods: GoodsState = state.extra(VK)
    if request.method == "GET":
        if "group_id" not in request.params:
            return json_response({"communities": every_community(goods)})
        try:
            group_id = int(request.params["group_id"])
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


def control_edit_item(state: SandboxState, request: Request) -> Response:
    """POST /_sandbox/vk/edit-item {group_id, item_id, title?, description?, price?}: an edit "by hand"
    in VK's interface (not counted as an API call)."""
    body = request.json()
    goods: GoodsState = state.extra(VK)
    group_id, item_id = _community(body), _body_int(body, "item_id", required=True)
    with goods._lock:
        item = goods.items.get(item_id or -1)
        if item is None or item.group_id != group_id or item.deleted:
            raise BadRequest("no such item in that community")
        for name in ("title", "description"):
            if isinstance(body.get(name), str):
                setattr(item, name, body[name])
        if isinstance(body.get("price"), str):
            item.price = Decimal(body["price"])
    return json_response({"ok": True})


def control_calls(state: SandboxState, request: Request) -> Response:
    """GET: API requests and calls by method (calls inside execute too); DELETE: start counting anew."""
    goods: GoodsState = state.extra(VK)
    if request.method == "DELETE":
        goods.reset_stats()
    return json_response(goods.stats())


def control_albums(state: SandboxState, request: Request) -> Response:
    """GET ?group_id=: the community's albums with their item ids; POST {group_id, title}: an album made
    by hand; POST {album_limit?, album_item_limit?} (null: none): the limits behind 1407 and 1406."""
    goods: GoodsState = state.extra(VK)
    with goods._lock:
        if request.method == "GET":
            try:
                group_id = int(request.params.get("group_id", ""))
            except ValueError:
                raise BadRequest("group_id must be an integer") from None
            return json_response({"albums": [{"id": a.id, "title": a.title, "items": list(a.items),
                                              "photo_id": a.photo_id} for a in goods.albums.of(group_id)]})
        body = request.json()
        if "group_id" in body:
            album = goods.albums.create(_community(body), str(body.get("title") or "Подборка"))
            return json_response({"id": album.id})
        for name, attribute in (("album_limit", "album_limit"), ("album_item_limit", "item_limit")):
            if name in body:
                setattr(goods.albums, attribute, _body_int(body, name))
        return json_response({"album_limit": goods.albums.album_limit, "album_item_limit": goods.albums.item_limit})


class GoodsControl:
    """A client of the goods control routes (/_sandbox/vk/...), for tests and benchmarks."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None) -> Any:
        response = self._session.request(method, f"{self.base_url}/_sandbox/vk/{path}", json=payload,
                                         params=params, timeout=self.timeout)
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"sandbox control {method} /_sandbox/vk/{path} answered {response.status_code}: "
                               f"{response.text[:300]}")
        return response.json()

    def user_token(self, scopes: tuple[str, ...] | list[str] = ("groups", "market", "photos"),
                   account_id: str | None = None) -> str:
        payload: dict[str, Any] = {"scopes": list(scopes)}
        if account_id is not None:
            payload["account_id"] = account_id
        return str(self._call("POST", "user-token", payload)["token"])

    def configure(self, **settings: Any) -> dict[str, Any]:
        """group_id with goods_enabled / item_limit; require_photo; rate_limit (0: none)."""
        return dict(self._call("POST", "goods", settings))

    def items(self, group_id: int) -> list[dict[str, Any]]:
        return list(self._call("GET", "items", params={"group_id": group_id})["items"])

    def seed_items(self, group_id: int, count: int, *, sku_prefix: str = "seed-") -> list[int]:
        return list(self._call("POST", "items", {"group_id": group_id, "count": count,
                                                 "sku_prefix": sku_prefix})["ids"])

    def delete_by_hand(self, group_id: int, item_id: int) -> None:
        self._call("POST", "delete-item", {"group_id": group_id, "item_id": item_id})

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "calls"))

    def reset_stats(self) -> None:
        self._call("DELETE", "calls")

    def albums(self, group_id: int) -> list[dict[str, Any]]:
        return list(self._call("GET", "albums", params={"group_id": group_id})["albums"])

    def add_album_by_hand(self, group_id: int, title: str) -> int:
        return int(self._call("POST", "albums", {"group_id": group_id, "title": title})["id"])

    def album_limits(self, **limits: int | None) -> dict[str, Any]:
        """album_limit (1407), album_item_limit (1406); None: no limit."""
        return dict(self._call("POST", "albums", limits))

    def edit_by_hand(self, group_id: int, item_id: int, **changes: str) -> None:
        """title, description, price (rubles as text) changed as the owner would in VK."""
        self._call("POST", "edit-item", {"group_id": group_id, "item_id": item_id, **changes})

    def place_order(self, group_id: int, items: list[tuple[int, int]], *, comment: str = "", status: int = 0) -> int:
        """An order by a buyer: (item id, quantity) each; its VK order id."""
        return int(self._call("POST", "orders", {"group_id": group_id, "comment": comment, "status": status,
                                                 "items": [{"item_id": i, "quantity": q} for i, q in items]})["id"])

    def set_order_status(self, group_id: int, order_id: int, status: int) -> None:
        self._call("POST", "orders", {"group_id": group_id, "order_id": order_id, "status": status})

    def set_market(self, group_id: int, market: str) -> None:
        """"basic" (orders and variants answer 1409) or "advanced" (the default)."""
        self._call("POST", "orders", {"group_id": group_id, "market": market})

    def orders(self, group_id: int) -> list[dict[str, Any]]:
        return list(self._call("GET", "orders", params={"group_id": group_id})["orders"])

    def variant_limits(self, **limits: int | None) -> dict[str, Any]:
        """property_limit (1418), variant_limit (1419); None: no limit."""
        return dict(self._call("POST", "variants", limits))

    def variants(self, group_id: int) -> dict[str, Any]:
        """The community's properties with their variants, and its item groups."""
        return dict(self._call("GET", "variants", params={"group_id": group_id}))
