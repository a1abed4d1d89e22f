"""VK albums (подборки) as the `GoodsTarget` album methods: `market.getAlbums`, `addAlbum`,
`editAlbum`, `deleteAlbum`, `addToAlbum` (arrays of items and albums: one call an album) and
`removeFromAlbum`, every batch through `execute` (25 calls a request). docs/vk-goods.md,
«Shop options»."""

from __future__ import annotations

from collections.abc import Sequence

from connhub.ports.goods import GoodsError, GoodsErrorKind, ListedAlbum
from connhub.providers.vk.api import Call, CallResult, VkApi, VkApiError
from connhub.providers.vk.goods import ALBUMS_PAGE, Goods
from connhub.providers.vk.goods_shapes import as_int

TITLE_MAX = 128
MAX_ALBUMS = 10_000  # listing stops here


class VkAlbums:
    """The album calls of one token; errors come back as VkApiError (the target converts them)."""

    def __init__(self, goods: Goods) -> None:
        self.goods = goods
        self.api: VkApi = goods.api

    def listed(self, group_id: int) -> list[ListedAlbum]:
        found: dict[int, ListedAlbum] = {}
        offset = 0
        while offset < MAX_ALBUMS:
            total, page = self.goods.albums(group_id, count=ALBUMS_PAGE, offset=offset)
            for album in page:
                if album.id and not album.is_main:
                    found.setdefault(album.id, ListedAlbum(album.id, album.title, album.count))
            offset += len(page)
            if not page or offset >= total:
                break
        return list(found.values())

    def add(self, group_id: int, titles: Sequence[str]) -> list[CallResult]:
        return self.api.execute([Call("market.addAlbum", {"owner_id": -group_id, "title": title[:TITLE_MAX]})
                                 for title in titles])

    def rename(self, group_id: int, renames: Sequence[tuple[int, str]]) -> list[CallResult]:
        return self.api.execute([Call("market.editAlbum", {"owner_id": -group_id, "album_id": album_id,
                                                           "title": title[:TITLE_MAX]})
                                 for album_id, title in renames])

    def delete(self, group_id: int, album_ids: Sequence[int]) -> list[CallResult]:
        return self.api.execute([Call("market.deleteAlbum", {"owner_id": -group_id, "album_id": album_id})
                                 for album_id in album_ids])

    def add_to(self, group_id: int, placements: Sequence[tuple[int, Sequence[int]]]) -> list[CallResult]:
        return self.api.execute([Call("market.addToAlbum", {"owner_id": -group_id, "item_ids": list(items),
                                                            "album_ids": [album_id]})
                                 for album_id, items in placements])

    def remove_from(self, group_id: int, removals: Sequence[tuple[int, int]]) -> list[CallResult]:
        return self.api.execute([Call("market.removeFromAlbum", {"owner_id": -group_id, "item_id": item_id,
                                                                 "album_ids": [album_id]})
                                 for album_id, item_id in removals])


def added_album(result: CallResult) -> int | VkApiError | GoodsError:
    """The new album's id from one `market.addAlbum` result."""
    if result.error is not None:
        return result.error
    value = as_int(result.response.get("market_album_id")) if isinstance(result.response, dict) else None
    return value if value is not None else GoodsError("ВКонтакте не вернул номер подборки", GoodsErrorKind.FAILED)
