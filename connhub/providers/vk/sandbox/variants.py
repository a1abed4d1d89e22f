"""The sandbox's VK variants: properties (`market.getProperties`, `addProperty`, `addPropertyVariant`;
`group_id` **positive**), `variant_ids` on `market.add`/`edit` (at most 2, one per property) and
item groups (`market.groupItems`, `ungroupItems`), with VK's rules (docs/vk-goods.md, «Модификации
как варианты товара во ВКонтакте»; the reference's §2.3): all of it needs the extended market (1409
on the basic one); a variant title 1–60 characters (1423 past 60); a property title up to 60 (1421);
unknown property 1417, unknown variant 1416; a group needs at least 2 items (1425) that all have
variants (1415), of the same properties (1412) and with distinct combinations (1426); an item
already in another group: 1413. The limits behind 1418 (properties a community) and 1419 (variants a
property) are settable (`/_sandbox/vk/variants`); VK publishes none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connhub.providers.vk.sandbox.constants import VK
from connhub.providers.vk.sandbox.model import ApiFailure, Caller, to_int
from connhub.providers.vk.sandbox.orders import require_extended
from connhub.sandbox.web import BadRequest, Request, Response, json_response

if TYPE_CHECKING:
    from connhub.providers.vk.sandbox.goods import GoodsState
    from connhub.sandbox.state import SandboxState

TITLE_MAX = 60
FIRST_PROPERTY_ID = 100
FIRST_VARIANT_ID = 10_000
FIRST_ITEM_GROUP_ID = 500


@dataclass
class Property:
    id: int
    group_id: int
    title: str
    variants: dict[int, str] = field(default_factory=dict)  # variant id → title


class VariantBook:
    """Every community's properties and their variants, and the item groups."""

    def __init__(self) -> None:
        self.properties: dict[int, Property] = {}
        self.groups: dict[int, list[int]] = {}  # item group id → item ids
        self.property_limit: int | None = None  # 1418 past it
        self.variant_limit: int | None = None  # 1419 past it
        self._next_property = FIRST_PROPERTY_ID
        self._next_variant = FIRST_VARIANT_ID
        self._next_group = FIRST_ITEM_GROUP_ID

    def of(self, group_id: int) -> list[Property]:
        return [p for p in self.properties.values() if p.group_id == group_id]

    def variant(self, group_id: int, variant_id: int) -> Property:
        for prop in self.of(group_id):
            if variant_id in prop.variants:
                return prop
        raise ApiFailure(1416)

    def group_of(self, item_id: int) -> int | None:
        return next((gid for gid, items in self.groups.items() if item_id in items), None)

    def add_property(self, group_id: int, title: str) -> Property:
        if self.property_limit is not None and len(self.of(group_id)) >= self.property_limit:
            raise ApiFailure(1418)
        prop = Property(self._next_property, group_id, title)
        self._next_property += 1
        self.properties[prop.id] = prop
        return prop

    def add_variant(self, prop: Property, title: str) -> int:
        if self.variant_limit is not None and len(prop.variants) >= self.variant_limit:
            raise ApiFailure(1419)
        variant_id = self._next_variant
        self._next_variant += 1
        prop.variants[variant_id] = title
        return variant_id

    def forget_item(self, item_id: int) -> None:
        for items in self.groups.values():
            if item_id in items:
                items.remove(item_id)


def _positive_group(state: GoodsState, caller: Caller, params: dict[str, str]) -> int:
    group_id = state._market_group(caller, params.get("group_id"), negative=False)
    require_extended(state, group_id)
    return group_id


def _title(params: dict[str, str], code: int) -> str:
    title = params.get("title", "")
    if not title.strip():
        raise ApiFailure(100, "One of the parameters specified was missing or invalid: title")
    if len(title) > TITLE_MAX:
        raise ApiFailure(code)
    return title


def item_variants(state: GoodsState, group_id: int, raw: str) -> list[int]:
    """`variant_ids` of market.add/edit: at most 2, each the community's, one per property."""
    require_extended(state, group_id)
    ids = [to_int(part) for part in raw.split(",") if part.strip()]
    if len(ids) > 2 or any(part is None for part in ids):
        raise ApiFailure(100, "One of the parameters specified was missing or invalid: variant_ids")
    chosen = [part for part in ids if part is not None]
    properties = [state.variants.variant(group_id, variant_id).id for variant_id in chosen]
    if len(set(properties)) != len(properties):
        raise ApiFailure(100, "One of the parameters specified was missing or invalid: variant_ids")
    return chosen


def _get_properties(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = _positive_group(state, caller, params)
    props = state.variants.of(group_id)
    return {"count": len(props), "items": [
        {"id": p.id, "title": p.title, "type": "text",
         "variants": [{"id": vid, "title": title, "value": title} for vid, title in p.variants.items()]}
        for p in props]}


def _add_property(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = _positive_group(state, caller, params)
    return {"property_id": state.variants.add_property(group_id, _title(params, 1421)).id}


def _add_property_variant(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = _positive_group(state, caller, params)
    prop = state.variants.properties.get(to_int(params.get("property_id")) or -1)
    if prop is None or prop.group_id != group_id:
        raise ApiFailure(1417)
    return {"variant_id": state.variants.add_variant(prop, _title(params, 1423))}


def _group_items(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    group_id = _positive_group(state, caller, params)
    ids = [to_int(part) for part in params.get("item_ids", "").split(",") if part.strip()]
    items = [state._item(group_id, str(part)) for part in ids]
    book = state.variants
    target = to_int(params.get("item_group_id")) if params.get("item_group_id") else None
    if target is not None and target not in book.groups:
        raise ApiFailure(100, "One of the parameters specified was missing or invalid: item_group_id")
    members = [state.items[i] for i in book.groups.get(target, [])] if target is not None else []
    everyone = members + [item for item in items if item not in members]
    if len(everyone) < 2:
        raise ApiFailure(1425)
    if any(not item.variant_ids for item in everyone):
        raise ApiFailure(1415)
    shapes = {frozenset(book.variant(group_id, v).id for v in item.variant_ids) for item in everyone}
    if len(shapes) != 1:
        raise ApiFailure(1412)
    combos = [frozenset(item.variant_ids) for item in everyone]
    if len(set(combos)) != len(combos):
        raise ApiFailure(1426)
    if any(book.group_of(item.id) not in (None, target) for item in items):
        raise ApiFailure(1413)
    if target is None:
        target = book._next_group
        book._next_group += 1
    book.groups[target] = [item.id for item in everyone]
    return {"item_group_id": target}


def _ungroup_items(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    _positive_group(state, caller, params)
    if state.variants.groups.pop(to_int(params.get("item_group_id")) or -1, None) is None:
        raise ApiFailure(100, "One of the parameters specified was missing or invalid: item_group_id")
    return 1


VARIANT_METHODS = {
    "market.getProperties": _get_properties,
    "market.addProperty": _add_property,
    "market.addPropertyVariant": _add_property_variant,
    "market.groupItems": _group_items,
    "market.ungroupItems": _ungroup_items,
}


def control_variants(state: SandboxState, request: Request) -> Response:
    """GET ?group_id=: the community's properties (with variants) and item groups; POST
    {property_limit?, variant_limit?} (null: none): the limits behind 1418 and 1419."""
    goods: GoodsState = state.extra(VK)
    book = goods.variants
    with goods._lock:
        if request.method == "GET":
            group_id = to_int(request.params.get("group_id", ""))
            if group_id is None:
                raise BadRequest("group_id must be an integer")
            return json_response({
                "properties": [{"id": p.id, "title": p.title, "variants": {str(k): t for k, t in p.variants.items()}}
                               for p in book.of(group_id)],
                "groups": {str(gid): items for gid, items in book.groups.items()
                           if items and goods.items[items[0]].group_id == group_id}})
        body = request.json()
        for name in ("property_limit", "variant_limit"):
            if name in body:
                value = body[name]
                if value is not None and (to_int(value) is None or to_int(value) < 0):  # type: ignore[operator]
                    raise BadRequest(f"{name} must be a whole number or null")
                setattr(book, name, None if value is None else to_int(value))
        return json_response({"property_limit": book.property_limit, "variant_limit": book.variant_limit})
