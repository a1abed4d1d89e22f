"""A VK community's goods through the API (docs/vk-goods.md): communities, categories, albums,
items, photo upload, and the batched edits, hides and deletes a sync needs.

`market.*` methods take the community as a **negative** `owner_id`; the photo upload server
takes it as a **positive** `group_id`. Callers pass the positive community id everywhere and
this module signs it. Prices go in as rubles and come back as kopecks (`MarketItem.price_kopecks`).
The parsed shapes live in goods_shapes.py (re-exported here).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from connhub.providers.vk.api import Call, CallResult, VkApi, VkApiError
from connhub.providers.vk.goods_errors import ErrorKind
from connhub.providers.vk.goods_shapes import (
    Album,
    Category,
    Community,
    MarketItem,
    as_int,
    bad_answer,
    endless,
    leaves,
    parse_communities,
)

log = logging.getLogger(__name__)
__all__ = ["Album", "Category", "Community", "Goods", "MarketItem", "leaves", "parse_communities"]

GROUPS_PAGE = 1000
MAX_COMMUNITIES = 10_000  # far more than anyone administers or edits; `groups.get` stops listing here
ITEMS_PAGE = 200
# VK publishes no number for a community's items (error 1405 "Too many items" says it is reached);
# listing stops past this many, far above any shop connhub serves (docs/vk-goods.md).
MAX_COMMUNITY_ITEMS = 100_000
ALBUMS_PAGE = 100
PHOTO_IDS_MAX = 4
COMMUNITIES_QUERY: dict[str, Any] = {"filter": "admin,editor", "extended": 1, "fields": "market",
                                     "count": GROUPS_PAGE}


class Goods:
    """The goods-side API of one user token."""

    def __init__(self, api: VkApi) -> None:
        self.api = api

    # --- communities and categories ------------------------------------------------------------

    def communities(self) -> list[Community]:
        """The communities the user administers or edits, with whether goods are on (`groups.get`)."""
        found: dict[int, Community] = {}
        offset = 0
        for _page in range(MAX_COMMUNITIES // GROUPS_PAGE):  # `count` is not trusted to end the list
            answer = self.api.call("groups.get", {**COMMUNITIES_QUERY, "offset": offset})
            page = parse_communities(answer, "groups.get")
            if isinstance(page, VkApiError):
                raise page
            before = len(found)
            for community in page:
                found.setdefault(community.id, community)
            items = answer["items"]
            offset += len(items)
            total = as_int(answer.get("count")) or 0
            if not items or offset >= total or len(found) == before:
                break
        else:
            log.warning("groups.get: more than %s communities listed (count %s); the rest left out",
                        MAX_COMMUNITIES, total)
        return list(found.values())

    def categories(self) -> list[Category]:
        """The goods category tree (5.199 shape: `items` of nodes with `children`)."""
        answer = self.api.call("market.getCategories")
        items = answer.get("items") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise bad_answer("market.getCategories")
        return [node for node in (Category.parse(raw) for raw in items if isinstance(raw, dict)) if node]

    def albums(self, group_id: int, *, count: int = ALBUMS_PAGE, offset: int = 0) -> tuple[int, list[Album]]:
        answer = self.api.call("market.getAlbums", {"owner_id": -group_id, "count": count, "offset": offset})
        items = answer.get("items") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise bad_answer("market.getAlbums")
        albums = [
            Album(id=as_int(raw.get("id")) or 0, title=str(raw.get("title") or ""), count=as_int(raw.get("count")) or 0,
                  is_main=bool(raw.get("is_main")), is_hidden=bool(raw.get("is_hidden")))
            for raw in items if isinstance(raw, dict)
        ]
        return as_int(answer.get("count")) or 0, albums

    # --- items ---------------------------------------------------------------------------------

    def items(self, group_id: int, *, with_disabled: bool = True, extended: bool = False) -> list[MarketItem]:
        """All of the community's items, 200 a page, hidden ones too; de-duplicated by id.

        `extended` adds each item's photos (and likes, views, ...): a page of 200 extended items is
        several times larger, so ask for it only when the photos are needed.

        `count` is not trusted (docs/vk-goods.md, «Listing a community»): a page with nothing new,
        or more than MAX_COMMUNITY_ITEMS items, ends the listing with a VkApiError that stops the run
        (an incomplete list would make a sync add duplicates of what it did not see)."""
        found: dict[int, MarketItem] = {}
        offset = 0
        for _page in range(MAX_COMMUNITY_ITEMS // ITEMS_PAGE):
            answer = self.api.call("market.get", {"owner_id": -group_id, "count": ITEMS_PAGE, "offset": offset,
                                                  "extended": extended, "with_disabled": with_disabled})
            items = answer.get("items") if isinstance(answer, dict) else None
            if not isinstance(items, list):
                raise bad_answer("market.get")
            before = len(found)
            for raw in items:
                item = MarketItem.parse(raw) if isinstance(raw, dict) else None
                if item is not None:
                    found.setdefault(item.id, item)
            offset += len(items)
            total = as_int(answer.get("count")) or 0
            if len(items) < ITEMS_PAGE or offset >= total:
                return list(found.values())
            if len(found) == before:
                log.warning("market.get of group %s: page at offset %s repeats earlier items; listing stopped",
                            group_id, offset - len(items))
                raise endless("ВКонтакте повторяет одну и ту же страницу списка товаров сообщества")
        log.warning("market.get of group %s: more than %s items listed (count %s); listing stopped",
                    group_id, MAX_COMMUNITY_ITEMS, total)
        shown = f"{MAX_COMMUNITY_ITEMS:,}".replace(",", "\u00a0")
        raise endless(f"список товаров сообщества не кончается: прочитано {shown} товаров, "
                       "больше, чем бывает в сообществе")

    @staticmethod
    def item_params(group_id: int, fields: Mapping[str, Any], *, item_id: int | None = None,
                    main_photo_id: int | None = None, photo_ids: Sequence[int] = ()) -> dict[str, Any]:
        params: dict[str, Any] = {"owner_id": -group_id}
        if item_id is not None:
            params["item_id"] = item_id
        params.update(fields)
        if main_photo_id is not None:
            params["main_photo_id"] = main_photo_id
        if photo_ids:
            params["photo_ids"] = list(photo_ids)[:PHOTO_IDS_MAX]
        return params

    def add(self, group_id: int, fields: Mapping[str, Any], *, main_photo_id: int | None = None) -> int:
        """`market.add`; the new item's id. Never retried on a lost answer (see `api`)."""
        answer = self.api.call("market.add", self.item_params(group_id, fields, main_photo_id=main_photo_id))
        item_id = as_int(answer.get("market_item_id")) if isinstance(answer, dict) else None
        if item_id is None:
            raise bad_answer("market.add")
        return item_id

    def edit(self, group_id: int, item_id: int, fields: Mapping[str, Any], *,
             main_photo_id: int | None = None) -> None:
        """`market.edit` with the full field set (VK does not promise to keep omitted fields)."""
        self.api.call("market.edit", self.item_params(group_id, fields, item_id=item_id,
                                                      main_photo_id=main_photo_id))

    def delete(self, group_id: int, item_id: int) -> None:
        self.api.call("market.delete", {"owner_id": -group_id, "item_id": item_id})

    def restore(self, group_id: int, item_id: int) -> None:
        """`market.restore`; an item that is not deleted (1518) counts as restored."""
        try:
            self.api.call("market.restore", {"owner_id": -group_id, "item_id": item_id})
        except VkApiError as error:
            if error.kind is not ErrorKind.ALREADY:
                raise

    # --- batches -------------------------------------------------------------------------------

    def edit_many(self, group_id: int, edits: Sequence[tuple[int, Mapping[str, Any], int | None]]) -> list[CallResult]:
        """Several `market.edit`s (item id, fields, main photo id) through `execute`, 25 a request."""
        return self.api.execute([
            Call("market.edit", self.item_params(group_id, fields, item_id=item_id, main_photo_id=photo_id))
            for item_id, fields, photo_id in edits
        ])

    def hide_many(self, group_id: int, items: Sequence[tuple[int, Mapping[str, Any]]]) -> list[CallResult]:
        """Hide items (`deleted=1`), each sent with its full field set."""
        return self.api.execute([
            Call("market.edit", self.item_params(group_id, {**fields, "deleted": 1}, item_id=item_id))
            for item_id, fields in items
        ])

    def delete_many(self, group_id: int, item_ids: Sequence[int]) -> list[CallResult]:
        return self.api.execute([Call("market.delete", {"owner_id": -group_id, "item_id": item_id})
                                 for item_id in item_ids])

    def add_many(self, group_id: int, adds: Sequence[tuple[Mapping[str, Any], int | None]]) -> list[CallResult]:
        """Several `market.add`s (fields, main photo id) through `execute`; each result is
        `{"market_item_id": N}` or its own error. A batch whose answer was lost is not repeated."""
        return self.api.execute([
            Call("market.add", self.item_params(group_id, fields, main_photo_id=photo_id)) for fields, photo_id in adds
        ])

    def upload_urls(self, group_id: int, count: int) -> list[str | VkApiError]:
        """`count` photo upload addresses (one per photo) through `execute`."""
        results = self.api.execute([Call("market.getProductPhotoUploadServer", {"group_id": group_id})] * count)
        return [_upload_url(result) for result in results]

    def save_photos(self, replies: Sequence[str]) -> list[int | VkApiError]:
        """`market.saveProductPhoto` for several upload replies (each passed verbatim) through `execute`."""
        results = self.api.execute([Call("market.saveProductPhoto", {"upload_response": reply}) for reply in replies])
        return [_photo_id(result) for result in results]

    # --- photos --------------------------------------------------------------------------------

    def upload_photo(self, group_id: int, data: bytes, *, filename: str = "photo.png",
                     content_type: str = "image/png") -> int:
        """Upload one goods photo: upload server → multipart `file` → `market.saveProductPhoto` with
        the upload reply passed through verbatim. Returns the photo id for `main_photo_id`."""
        answer = self.api.call("market.getProductPhotoUploadServer", {"group_id": group_id})
        upload_url = _upload_url(CallResult(Call("market.getProductPhotoUploadServer"), response=answer))
        if isinstance(upload_url, VkApiError):
            raise upload_url
        reply = self.api.upload(upload_url, filename=filename, data=data, content_type=content_type)
        saved = self.api.call("market.saveProductPhoto", {"upload_response": reply})
        photo_id = _photo_id(CallResult(Call("market.saveProductPhoto"), response=saved))
        if isinstance(photo_id, VkApiError):
            raise photo_id
        return photo_id


def _upload_url(result: CallResult) -> str | VkApiError:
    if result.error is not None:
        return result.error
    url = result.response.get("upload_url") if isinstance(result.response, dict) else None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return bad_answer("market.getProductPhotoUploadServer")
    return url


def _photo_id(result: CallResult) -> int | VkApiError:
    if result.error is not None:
        return result.error
    photo_id = as_int(result.response.get("photo_id")) if isinstance(result.response, dict) else None
    return bad_answer("market.saveProductPhoto") if photo_id is None else photo_id
