"""`market.get`'s `count` is not trusted: listing a community stops at what is plausible.

A community answering `count: 10**9` with new items on every page used to be listed for about 5
million requests; one answering the same page forever, for as long as `count` said.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from connhub.crypto import Secret
from connhub.providers.vk.api import RateLimiter, VkApi, VkApiError
from connhub.providers.vk.goods import ITEMS_PAGE, MAX_COMMUNITIES, MAX_COMMUNITY_ITEMS, Goods
from tests.reliability.hostile_sync import (
    HostileProxy,
    endless_market,
    run_sync,
)
from tests.support.goods import by_sku
from tests.support.images import ready_with_evotor_images


@pytest.fixture
def market(sandbox):
    """A VK API whose `market.get` the test programs (the proxy forwards the rest to the sandbox)."""
    with HostileProxy(sandbox.base_url) as running:
        goods = Goods(VkApi(Secret("t"), api_url=f"{running.base_url}/vk", timeout=5,
                            limiter=RateLimiter(per_second=10_000), sleep=lambda _s: None))
        yield running, goods


def test_new_items_on_every_page_stop_at_the_largest_plausible_community(market):
    proxy, goods = market
    proxy.override("POST", r"/method/market\.get$", body=endless_market(new_every_page=True))
    with pytest.raises(VkApiError) as caught:
        goods.items(1)
    assert "список товаров сообщества не кончается" in caught.value.reason
    assert caught.value.stops_run
    assert len(proxy.seen(r"/method/market\.get$")) == MAX_COMMUNITY_ITEMS // ITEMS_PAGE


def test_the_same_page_again_stops_at_the_second_page(market):
    proxy, goods = market
    proxy.override("POST", r"/method/market\.get$", body=endless_market(new_every_page=False))
    with pytest.raises(VkApiError) as caught:
        goods.items(1)
    assert "повторяет" in caught.value.reason and caught.value.stops_run
    assert len(proxy.seen(r"/method/market\.get$")) == 2


def test_a_short_last_page_still_ends_a_listing_that_claims_more(market):
    proxy, goods = market
    proxy.override("POST", r"/method/market\.get$",
                   body=lambda _p, _b: b'{"response": {"count": 1000000000, "items": [{"id": 5, "owner_id": -1}]}}')
    assert [item.id for item in goods.items(1)] == [5]


def test_a_real_run_against_a_repeating_listing_stops_with_the_reason_and_adds_nothing(rt, alice, vk_goods, proxy):
    ready_with_evotor_images(rt, alice, vk_goods)
    proxy.override("POST", r"/method/market\.get$", body=endless_market(new_every_page=False))

    done = run_sync(rt, proxy, alice)

    assert done.returncode == 5, done.stdout + done.stderr  # stopped, with the reason
    assert "Traceback" not in done.stderr
    assert "ВКонтакте повторяет одну и ту же страницу списка товаров" in done.stdout
    assert len(proxy.seen(r"/method/market\.get$")) == 2
    assert by_sku(vk_goods) == {}  # nothing added: an unlisted community must not get duplicates


def test_the_users_communities_are_not_listed_forever_either(market):
    proxy, goods = market

    def endless_groups(_path: str, payload: bytes) -> bytes:
        offset = int(parse_qs(payload.decode()).get("offset", ["0"])[0])
        items = [{"id": 1 + offset + n, "name": f"Сообщество {offset + n}", "market": {"enabled": 1}}
                 for n in range(1000)]
        return json.dumps({"response": {"count": 10**9, "items": items}}).encode()

    proxy.override("POST", r"/method/groups\.get$", body=endless_groups)
    found = goods.communities()
    assert len(found) == MAX_COMMUNITIES
    assert len(proxy.seen(r"/method/groups\.get$")) == MAX_COMMUNITIES // 1000
