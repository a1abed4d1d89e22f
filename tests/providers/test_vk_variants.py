"""VK properties, variants and item groups through the goods target (providers/vk/goods_variants.py)
against the sandbox: listing and adopting by title, `variant_ids` on add, `groupItems` in one
`execute`, and the basic market's 1409 as NOT_OFFERED."""

from __future__ import annotations

import pytest

from connhub.crypto import Secret
from connhub.ports.goods import Draft, GoodsError, GoodsErrorKind
from connhub.providers.vk.api import RateLimiter, RetryPolicy, VkApi
from connhub.providers.vk.goods import Goods
from connhub.providers.vk.goods_target import VkGoodsTarget

SHOP = 218252175


@pytest.fixture
def target(sandbox, vk_goods) -> VkGoodsTarget:
    api = VkApi(Secret(vk_goods.user_token()), api_url=f"{sandbox.base_url}/vk", timeout=10,
                limiter=RateLimiter(), retry=RetryPolicy(attempts=3, base_delay=0.05))
    return VkGoodsTarget(Goods(api))


def draft(name: str, variant_ids: list[int]) -> Draft:
    return Draft({"name": name, "description": "Описание товара для проверки", "category_id": 501,
                  "price": "100.00", "sku": name, "variant_ids": variant_ids})


def test_properties_and_variants_are_added_listed_by_title_and_used_on_items(target, vk_goods):
    colour, size = target.add_properties(SHOP, ["Цвет", "Размер"])
    assert isinstance(colour, int) and isinstance(size, int)
    red, blue, small = target.add_variants(SHOP, [(colour, "Красный"), (colour, "Синий"), (size, "S")])
    listed = {p.title: dict(p.variants) for p in target.properties(SHOP)}
    assert listed == {"Цвет": {"Красный": red, "Синий": blue}, "Размер": {"S": small}}

    before = target.requests
    items = target.add(SHOP, [draft("Футболка красная S", [red, small]), draft("Футболка синяя S", [blue, small])])
    [group] = target.group_items(SHOP, [(items, None)])
    assert isinstance(group, int) and target.requests - before == 2  # one execute each
    assert vk_goods.variants(SHOP)["groups"] == {str(group): items}


def test_a_grouping_vk_refuses_is_that_entry_s_error(target):
    [colour] = target.add_properties(SHOP, ["Цвет"])
    [red] = target.add_variants(SHOP, [(colour, "Красный")])
    items = target.add(SHOP, [draft("Футболка красная", [red]), draft("Футболка красная 2", [red])])
    [refused] = target.group_items(SHOP, [(items, None)])
    assert isinstance(refused, GoodsError) and refused.label == "1426" and not refused.stops_run


def test_the_basic_market_answers_not_offered(target, vk_goods):
    """The sync's fallback to separate items hangs on this kind (connhub/sync/variant_run.py)."""
    vk_goods.set_market(SHOP, "basic")
    with pytest.raises(GoodsError) as raised:
        target.properties(SHOP)
    assert raised.value.kind is GoodsErrorKind.NOT_OFFERED and raised.value.label == "1409"
    assert "не включён расширенный магазин" in raised.value.reason
    [refused] = target.add_properties(SHOP, ["Цвет"])
    assert isinstance(refused, GoodsError) and refused.kind is GoodsErrorKind.NOT_OFFERED
