"""The sandbox's VK properties, variants and item groups (providers/vk/sandbox/variants.py) and the
basic market's 1409, as a VK client meets them over HTTP."""

from __future__ import annotations

import pytest
import requests

from connhub.providers.vk.sandbox import GoodsControl

GROUP = 218252175


@pytest.fixture
def vk(sandbox):
    goods = GoodsControl(sandbox.base_url)
    goods.configure(rate_limit=0)  # many calls in a row; the limit has tests of its own
    token = goods.user_token()

    def call(method: str, **params):
        form = {"access_token": token, "v": "5.199", **{k: str(v) for k, v in params.items()}}
        answer = requests.post(f"{sandbox.base_url}/vk/method/{method}", data=form, timeout=10).json()
        return answer.get("response", answer.get("error"))

    call.goods = goods  # type: ignore[attr-defined]
    return call


def add_item(vk, name: str, **params) -> int:
    return vk("market.add", owner_id=-GROUP, name=name, description="Описание товара для проверки",
              category_id=501, price="100", **params)["market_item_id"]


def colour_and_size(vk) -> tuple[int, dict[str, int]]:
    colour = vk("market.addProperty", group_id=GROUP, title="Цвет")["property_id"]
    size = vk("market.addProperty", group_id=GROUP, title="Размер")["property_id"]
    variants = {title: vk("market.addPropertyVariant", group_id=GROUP, property_id=prop, title=title)["variant_id"]
                for prop, title in ((colour, "Красный"), (colour, "Синий"), (size, "S"), (size, "M"))}
    return colour, variants


def test_properties_and_variants_are_listed_per_community(vk):
    colour, variants = colour_and_size(vk)
    listed = vk("market.getProperties", group_id=GROUP)
    assert listed["count"] == 2
    [first] = [p for p in listed["items"] if p["id"] == colour]
    assert [v["title"] for v in first["variants"]] == ["Красный", "Синий"]
    assert vk("market.getProperties", group_id=218252177)["count"] == 0


def test_items_with_distinct_combinations_group_and_the_rules_answer_their_codes(vk):
    _colour, v = colour_and_size(vk)
    red_s = add_item(vk, "Футболка красная S", variant_ids=f"{v['Красный']},{v['S']}")
    blue_s = add_item(vk, "Футболка синяя S", variant_ids=f"{v['Синий']},{v['S']}")
    twin = add_item(vk, "Футболка синяя S 2", variant_ids=f"{v['Синий']},{v['S']}")
    colour_only = add_item(vk, "Футболка синяя", variant_ids=v["Синий"])
    plain = add_item(vk, "Футболка простая")
    assert vk("market.groupItems", group_id=GROUP, item_ids=red_s)["error_code"] == 1425
    assert vk("market.groupItems", group_id=GROUP, item_ids=f"{red_s},{plain}")["error_code"] == 1415
    assert vk("market.groupItems", group_id=GROUP, item_ids=f"{red_s},{colour_only}")["error_code"] == 1412
    assert vk("market.groupItems", group_id=GROUP, item_ids=f"{blue_s},{twin}")["error_code"] == 1426
    group = vk("market.groupItems", group_id=GROUP, item_ids=f"{red_s},{blue_s}")["item_group_id"]
    red_m = add_item(vk, "Футболка красная M", variant_ids=f"{v['Красный']},{v['M']}")
    assert vk("market.groupItems", group_id=GROUP, item_ids=red_m, item_group_id=group) == {"item_group_id": group}
    other = add_item(vk, "Футболка синяя M", variant_ids=f"{v['Синий']},{v['M']}")
    assert vk("market.groupItems", group_id=GROUP, item_ids=f"{red_s},{other}")["error_code"] == 1413


def test_bad_variants_and_titles_answer_their_codes(vk):
    colour, v = colour_and_size(vk)
    assert vk("market.addPropertyVariant", group_id=GROUP, property_id=colour, title="x" * 61)["error_code"] == 1423
    assert vk("market.addPropertyVariant", group_id=GROUP, property_id=999, title="Зелёный")["error_code"] == 1417
    assert vk("market.add", owner_id=-GROUP, name="Футболка", description="Описание товара для проверки",
              category_id=501, price="1", variant_ids="424242")["error_code"] == 1416
    same_property = f"{v['Красный']},{v['Синий']}"
    assert vk("market.add", owner_id=-GROUP, name="Футболка", description="Описание товара для проверки",
              category_id=501, price="1", variant_ids=same_property)["error_code"] == 100


def test_the_basic_market_answers_1409_for_properties_variants_and_groups(vk):
    vk.goods.set_market(GROUP, "basic")
    assert vk("market.getProperties", group_id=GROUP)["error_code"] == 1409
    assert vk("market.addProperty", group_id=GROUP, title="Цвет")["error_code"] == 1409
    assert vk("market.groupItems", group_id=GROUP, item_ids="1,2")["error_code"] == 1409
    vk.goods.set_market(GROUP, "advanced")
    assert "property_id" in vk("market.addProperty", group_id=GROUP, title="Цвет")


def test_the_property_and_variant_limits_are_settable(vk):
    vk.goods.variant_limits(property_limit=1, variant_limit=1)
    prop = vk("market.addProperty", group_id=GROUP, title="Цвет")["property_id"]
    assert vk("market.addProperty", group_id=GROUP, title="Размер")["error_code"] == 1418
    assert "variant_id" in vk("market.addPropertyVariant", group_id=GROUP, property_id=prop, title="Красный")
    assert vk("market.addPropertyVariant", group_id=GROUP, property_id=prop, title="Синий")["error_code"] == 1419
