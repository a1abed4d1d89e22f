"""The goods methods (`groups.get`, `market.*`), with VK's validation; each answers or raises ApiFailure."""

from __future__ import annotations

import copy
import secrets
import time
from typing import TYPE_CHECKING, Any

from connhub.providers.vk.sandbox.albums import ALBUM_METHODS
from connhub.providers.vk.sandbox.constants import CATEGORIES, COMMUNITIES, CURRENCY, FIRST_ALBUM_ID, MEMBERSHIPS
from connhub.providers.vk.sandbox.model import ApiFailure, Caller, Item, Photo, Upload, item_json, to_int
from connhub.providers.vk.sandbox.orders import ORDER_METHODS
from connhub.providers.vk.sandbox.variants import VARIANT_METHODS

if TYPE_CHECKING:
    from connhub.providers.vk.sandbox.goods import GoodsState

# ----------------------------------------------------------------------------------------------------
# the methods

def _groups_get(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    if "groups" not in caller.scopes:
        raise ApiFailure(15)
    filters = {part.strip() for part in params.get("filter", "").split(",") if part.strip()}
    minimum = 3 if filters == {"admin"} else 2 if "editor" in filters else 1 if "moder" in filters else 0
    roles = MEMBERSHIPS.get(caller.account_id, {})
    chosen = [gid for gid, level in roles.items() if level >= minimum]
    offset = to_int(params.get("offset")) or 0
    count = min(to_int(params.get("count")) or 1000, 1000)
    page = chosen[offset:offset + count]
    if params.get("extended") != "1":
        return {"count": len(chosen), "items": page}
    fields = {part.strip() for part in params.get("fields", "").split(",")}
    items = []
    for gid in page:
        seed = COMMUNITIES[gid]
        level = roles[gid]
        group: dict[str, Any] = {
            "id": gid, "name": seed["name"], "screen_name": seed["screen_name"], "is_closed": 0,
            "type": seed["type"], "is_admin": 1 if level >= 1 else 0, "admin_level": level, "is_member": 1,
            "photo_50": "https://vk.com/images/community_50.png",
            "photo_100": "https://vk.com/images/community_100.png",
            "photo_200": "https://vk.com/images/community_200.png",
        }
        if "market" in fields:
            if state.goods_enabled[gid]:
                group["market"] = {"enabled": 1, "type": "basic", "contact_id": 0, "currency": CURRENCY,
                                   "currency_text": CURRENCY["title"], "main_album_id": FIRST_ALBUM_ID,
                                   "price_min": "0", "price_max": "0"}
            else:
                group["market"] = {"enabled": 0}
        items.append(group)
    return {"count": len(chosen), "items": items}


def _get_categories(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    if "market" not in caller.scopes:
        raise ApiFailure(15)
    return {"items": copy.deepcopy(CATEGORIES)}


def _get_albums(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    count = to_int(params.get("count")) or 50
    if not 0 <= count <= 100:
        raise ApiFailure(100, "One of the parameters specified was missing or invalid: count")
    offset = to_int(params.get("offset")) or 0
    albums = [{"id": FIRST_ALBUM_ID, "owner_id": -group_id, "title": "Все товары",
               "count": state._active_count(group_id), "is_main": True, "is_hidden": False,
               "updated_time": int(time.time()), "type": 0}, *state.albums.listed(group_id)]
    return {"count": len(albums), "items": albums[offset:offset + count]}


def _market_get(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    count = to_int(params.get("count"))
    count = 100 if count is None else count
    if not 0 <= count <= 200:
        raise ApiFailure(100, "One of the parameters specified was missing or invalid: count should be at most 200")
    offset = to_int(params.get("offset")) or 0
    with_disabled = params.get("with_disabled") == "1"
    listed = sorted(
        (item for item in state.items.values()
         if item.group_id == group_id and not item.deleted and (with_disabled or not item.hidden)),
        key=lambda item: -item.id,
    )
    extended = params.get("extended") == "1"
    return {"count": len(listed), "items": [_grouped(state, item_json(item, extended=extended))
                                            for item in listed[offset:offset + count]]}


def _grouped(state: GoodsState, answer: dict[str, Any]) -> dict[str, Any]:
    """An item in an item group carries its `variants_grouping_id` (VK's schema: market_marketItem)."""
    grouping = state.variants.group_of(answer["id"])
    return answer | {"variants_grouping_id": grouping} if grouping is not None else answer


def _market_add(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    values = state._apply_fields(None, params, group_id)
    limit = state.item_limit[group_id]
    if limit is not None and state._active_count(group_id) >= limit:
        raise ApiFailure(1405)
    item = Item(id=state._next_item, group_id=group_id, date=int(time.time()), **values)
    state._next_item += 1
    state.items[item.id] = item
    return {"market_item_id": item.id}


def _market_edit(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    item = state._item(group_id, params.get("item_id"))
    values = state._apply_fields(item, params, group_id)
    for key, value in values.items():
        setattr(item, key, value)
    item.edits += 1
    return 1


def _market_delete(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    state._item(group_id, params.get("item_id"), allow_deleted=True).deleted = True
    return 1


def _market_restore(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    item = state._item(group_id, params.get("item_id"), allow_deleted=True)
    if not item.deleted:
        raise ApiFailure(1518)
    item.deleted = False
    return 1


def _upload_server(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("group_id"), negative=False, photos=True)
    upload_token = secrets.token_urlsafe(16)
    state.uploads[upload_token] = Upload(group_id=group_id, account_id=caller.account_id)
    return {"upload_url": f"{base_url}/vk/upload/photo?token={upload_token}"}


def _save_photo(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    if "market" not in caller.scopes or "photos" not in caller.scopes:
        raise ApiFailure(15)
    text = params.get("upload_response")
    upload = next((u for u in state.uploads.values() if u.reply is not None and u.reply == text), None)
    if upload is None or upload.account_id != caller.account_id or upload.saved:
        raise ApiFailure(100, "One of the parameters specified was missing or invalid: upload_response is undefined")
    if not state.goods_enabled[upload.group_id]:
        raise ApiFailure(1438)
    upload.saved = True
    photo = Photo(id=state._next_photo, group_id=upload.group_id, width=upload.width, height=upload.height,
                  sha=upload.sha)
    state._next_photo += 1
    state.photos[photo.id] = photo
    return {"photo_id": photo.id}


METHOD_TABLE = {
    "groups.get": _groups_get,
    "market.getCategories": _get_categories,
    "market.getAlbums": _get_albums,
    "market.get": _market_get,
    "market.add": _market_add,
    "market.edit": _market_edit,
    "market.delete": _market_delete,
    "market.restore": _market_restore,
    "market.getProductPhotoUploadServer": _upload_server,
    "market.saveProductPhoto": _save_photo,
    **ALBUM_METHODS,
    **ORDER_METHODS,
    **VARIANT_METHODS,
}
METHODS = frozenset(METHOD_TABLE) | {"execute", "users.get", "market.saveProductPhotoBulk"}  # + photos_bulk.py
