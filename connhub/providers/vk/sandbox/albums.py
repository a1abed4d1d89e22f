"""The sandbox's VK albums (подборки): `market.addAlbum`, `editAlbum`, `deleteAlbum`, `addToAlbum`,
`removeFromAlbum` and the albums `market.getAlbums` lists, with VK's rules (docs/vk-goods.md,
«Shop options»): a title of 1–128 characters (100 otherwise); `addToAlbum` takes arrays of items
**and** albums; an item already in an album answers 1404; past the settable limits, 1406 (items in
one album) and 1407 (albums in a community); an unknown album 1402, an unknown item 1403. Albums
made by hand (through the control API) are indistinguishable from the API's, as on VK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connhub.providers.vk.sandbox.constants import FIRST_ALBUM_ID
from connhub.providers.vk.sandbox.model import ApiFailure, Caller, to_int

if TYPE_CHECKING:
    from connhub.providers.vk.sandbox.goods import GoodsState

TITLE_MAX = 128


@dataclass
class Album:
    id: int
    group_id: int
    title: str
    items: list[int] = field(default_factory=list)
    photo_id: int | None = None


class AlbumBook:
    """Every community's albums (the main «Все товары» album is implied, never stored)."""

    def __init__(self) -> None:
        self.albums: dict[int, Album] = {}
        self.album_limit: int | None = None  # albums per community (1407 past it)
        self.item_limit: int | None = None  # items per album (1406 past it)
        self._next = FIRST_ALBUM_ID + 1

    def create(self, group_id: int, title: str, photo_id: int | None = None) -> Album:
        if self.album_limit is not None and len(self.of(group_id)) >= self.album_limit:
            raise ApiFailure(1407)
        album = Album(self._next, group_id, title, photo_id=photo_id)
        self._next += 1
        self.albums[album.id] = album
        return album

    def of(self, group_id: int) -> list[Album]:
        return [album for album in self.albums.values() if album.group_id == group_id]

    def get(self, group_id: int, raw: str | None) -> Album:
        album = self.albums.get(to_int(raw) or -1)
        if album is None or album.group_id != group_id:
            raise ApiFailure(1402)
        return album

    def listed(self, group_id: int) -> list[dict[str, Any]]:
        return [{"id": a.id, "owner_id": -group_id, "title": a.title, "count": len(a.items), "is_main": False,
                 "is_hidden": False, "type": 0, **({"photo": {"id": a.photo_id}} if a.photo_id else {})}
                for a in self.of(group_id)]

    def forget_item(self, item_id: int) -> None:
        for album in self.albums.values():
            if item_id in album.items:
                album.items.remove(item_id)


def _ids(raw: str | None, name: str) -> list[int]:
    parts = [to_int(part) for part in (raw or "").split(",") if part.strip()]
    if not parts or any(part is None for part in parts):
        raise ApiFailure(100, f"One of the parameters specified was missing or invalid: {name}")
    return [part for part in parts if part is not None]


def _title(params: dict[str, str]) -> str:
    title = params.get("title", "")
    if not title.strip() or len(title) > TITLE_MAX:
        raise ApiFailure(100, "One of the parameters specified was missing or invalid: title")
    return title


def _photo(state: GoodsState, params: dict[str, str], group_id: int) -> int | None:
    return state._photo(params["photo_id"], group_id) if params.get("photo_id") else None


def _add_album(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    album = state.albums.create(group_id, _title(params), _photo(state, params, group_id))
    return {"market_album_id": album.id, "albums_count": len(state.albums.of(group_id))}


def _edit_album(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    album = state.albums.get(group_id, params.get("album_id"))
    album.title = _title(params)
    if params.get("photo_id"):
        album.photo_id = _photo(state, params, group_id)
    return 1


def _delete_album(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    del state.albums.albums[state.albums.get(group_id, params.get("album_id")).id]
    return 1


def _add_to_album(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    albums = [state.albums.get(group_id, str(a)) for a in _ids(params.get("album_ids"), "album_ids")]
    items = [state._item(group_id, str(i)).id for i in _ids(params.get("item_ids"), "item_ids")]
    if all(item in album.items for album in albums for item in items):
        raise ApiFailure(1404)
    limit = state.albums.item_limit
    for album in albums:
        new = [item for item in items if item not in album.items]
        if limit is not None and len(album.items) + len(new) > limit:
            raise ApiFailure(1406)
        album.items.extend(new)
    return 1


def _remove_from_album(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = state._market_group(caller, params.get("owner_id"))
    item = state._item(group_id, params.get("item_id")).id
    for album_id in _ids(params.get("album_ids"), "album_ids"):
        album = state.albums.get(group_id, str(album_id))
        if item in album.items:
            album.items.remove(item)
    return 1


ALBUM_METHODS = {
    "market.addAlbum": _add_album,
    "market.editAlbum": _edit_album,
    "market.deleteAlbum": _delete_album,
    "market.addToAlbum": _add_to_album,
    "market.removeFromAlbum": _remove_from_album,
}
