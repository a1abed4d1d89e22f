"""VK properties and variants as the `GoodsTarget` variant methods: `market.getProperties`,
`addProperty`, `addPropertyVariant` (`group_id` **positive**, titles 1–60) and
`market.groupItems`, every batch through `execute` (25 calls a request). All need the extended
market: the basic one answers 1409 (NOT_OFFERED, `goods_target.variant_error`).
`addProperty`/`addPropertyVariant` have no idempotency key: a caller lists the properties first
and adopts one of the same title.
docs/vk-goods.md, «Модификации как варианты товара во ВКонтакте»."""

from __future__ import annotations

from collections.abc import Sequence

from connhub.ports.goods import GoodsError, GoodsErrorKind, ListedProperty
from connhub.providers.vk.api import Call, CallResult, VkApi, VkApiError
from connhub.providers.vk.goods_shapes import as_int, bad_answer

TITLE_MAX = 60


class VkVariants:
    """The variant calls of one token; errors come back as VkApiError (the target converts them)."""

    def __init__(self, api: VkApi) -> None:
        self.api = api

    def listed(self, group_id: int) -> list[ListedProperty]:
        answer = self.api.call("market.getProperties", {"group_id": group_id})
        items = answer.get("items") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise bad_answer("market.getProperties")
        found = []
        for raw in items:
            if not isinstance(raw, dict) or as_int(raw.get("id")) is None:
                continue
            variants = {str(v.get("title") or ""): as_int(v.get("id")) or 0
                        for v in raw.get("variants") or [] if isinstance(v, dict) and as_int(v.get("id"))}
            found.append(ListedProperty(as_int(raw.get("id")) or 0, str(raw.get("title") or ""), variants))
        return found

    def add_properties(self, group_id: int, titles: Sequence[str]) -> list[CallResult]:
        return self.api.execute([Call("market.addProperty", {"group_id": group_id, "title": title[:TITLE_MAX]})
                                 for title in titles])

    def add_variants(self, group_id: int, variants: Sequence[tuple[int, str]]) -> list[CallResult]:
        return self.api.execute([Call("market.addPropertyVariant", {"group_id": group_id, "property_id": prop,
                                                                    "title": title[:TITLE_MAX]})
                                 for prop, title in variants])

    def group(self, group_id: int, groups: Sequence[tuple[Sequence[int], int | None]]) -> list[CallResult]:
        calls = []
        for item_ids, item_group_id in groups:
            params: dict[str, object] = {"group_id": group_id, "item_ids": list(item_ids)}
            if item_group_id is not None:
                params["item_group_id"] = item_group_id
            calls.append(Call("market.groupItems", params))
        return self.api.execute(calls)


def new_id(result: CallResult, name: str) -> int | VkApiError | GoodsError:
    """The new id (`property_id`, `variant_id`, `item_group_id`) from one result."""
    if result.error is not None:
        return result.error
    value = as_int(result.response.get(name)) if isinstance(result.response, dict) else None
    return value if value is not None else GoodsError("ВКонтакте не вернул номер", GoodsErrorKind.FAILED)
