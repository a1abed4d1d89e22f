"""The VK rights probe: which extended rights a token has, recorded on the connection by the health
check without changing its verdict; VK_SCOPES decides what VK ID is asked for."""

from __future__ import annotations

import pytest

from connhub.connections import check_now
from connhub.crypto import Secret
from connhub.models import Status
from connhub.oauth import connect_with_token
from connhub.providers.vk.api import RateLimiter, RetryPolicy, VkApi
from connhub.providers.vk.goods import Goods
from connhub.providers.vk.presentation import rights_summary
from connhub.providers.vk.rights import Rights, probe_rights
from tests.support.connect import connect

SHOP, COFFEE = 218252175, 218252177


@pytest.fixture
def probe(sandbox, vk_goods):
    def run(scopes, account_id=None) -> tuple[Rights, VkApi]:
        token = vk_goods.user_token(scopes, account_id=account_id)
        api = VkApi(Secret(token), api_url=f"{sandbox.base_url}/vk", timeout=10, limiter=RateLimiter(),
                    retry=RetryPolicy(attempts=1))
        return probe_rights(Goods(api)), api
    return run


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        ((), (False, None, None)),
        (("groups",), (True, False, None)),
        (("groups", "market"), (True, True, False)),
        (("groups", "market", "photos"), (True, True, True)),
        (("market", "photos"), (False, None, None)),  # no communities: the rest cannot be probed
    ],
    ids=["nothing", "communities-only", "no-photos", "everything", "no-communities"],
)
def test_rights_follow_the_token_scopes(probe, scopes, expected):
    rights, api = probe(scopes)
    assert (rights.groups, rights.market, rights.photos) == expected
    assert rights.complete is (expected == (True, True, True))
    assert rights.checked_at
    assert api.requests <= 3


@pytest.mark.parametrize("code", [7, 15, 200, 203, 205, 260])
def test_each_rights_error_means_a_missing_right_not_a_dead_token(probe, sandbox_control, code):
    sandbox_control.set_fault("vk-api", vk_error=code, count=1)
    rights, _ = probe(("groups", "market", "photos"))
    assert rights.groups is False
    assert "нет права на сообщества" in rights.note


@pytest.mark.parametrize("code", [1, 6, 10, 29, 5])
def test_trouble_or_other_errors_leave_the_right_unknown(probe, sandbox_control, code):
    sandbox_control.set_fault("vk-api", vk_error=code, count=1)
    rights, _ = probe(("groups", "market", "photos"))
    assert (rights.groups, rights.market, rights.photos) == (None, None, None)
    assert "не удалось проверить" in rights.note


def test_with_goods_off_in_every_community_the_goods_right_stays_unknown(probe, vk_goods):
    vk_goods.configure(group_id=SHOP, goods_enabled=False)
    vk_goods.configure(group_id=COFFEE, goods_enabled=False)
    rights, api = probe(("groups", "market", "photos"))
    assert (rights.groups, rights.market, rights.photos) == (True, None, None)
    assert "нет сообщества с включёнными товарами" in rights.note
    assert api.requests == 1


def test_an_editor_is_enough_to_probe_goods(probe):
    rights, _ = probe(("groups", "market", "photos"), account_id="100200300")  # administers COFFEE only
    assert rights.complete


def test_rights_survive_the_profile_round_trip_and_read_as_text():
    rights = Rights(groups=True, market=False, photos=None, checked_at="2026-12-02T04:00:00+00:00")
    assert Rights.from_profile({"rights": rights.as_profile()}) == rights
    assert Rights.from_profile({}) == Rights()
    assert Rights.from_profile({"rights": {"groups": "yes"}}).groups is None
    assert rights.missing == ["товары"] and rights.unknown == ["фотографии"]
    assert rights_summary({"rights": rights.as_profile()}) == (
        "сообщества: есть · товары: нет · фотографии: не проверено")


def test_the_health_check_records_the_rights_and_keeps_its_verdict(make_rt, alice):
    rt = make_rt(VK_SCOPES="vkid.personal_info")  # the default outside the sandbox: no extended rights
    connection_id = connect(rt, alice, "vk")
    view = check_now(rt, user_id=alice.id, connection_id=connection_id)
    assert view is not None and view.status is Status.ONLINE
    assert view.profile["rights"]["groups"] is False


def test_vk_scopes_asks_vk_id_for_the_sync_rights(make_rt, alice):
    rt = make_rt(VK_SCOPES="vkid.personal_info, groups market  photos")  # what the sandbox's app is allowed
    connection_id = connect(rt, alice, "vk")
    view = check_now(rt, user_id=alice.id, connection_id=connection_id)
    assert view is not None and view.status is Status.ONLINE
    rights = Rights.from_profile(view.profile)
    assert rights.complete, rights


@pytest.mark.parametrize("value", ["", "  ", "market,Photos!", "groups;market"])
def test_bad_vk_scopes_are_refused_at_start(make_rt, value):
    with pytest.raises(Exception, match="VK_SCOPES"):
        make_rt(VK_SCOPES=value)


def test_a_health_check_without_the_communities_right_costs_one_request_more(make_rt, alice, vk_goods):
    rt = make_rt(VK_SCOPES="vkid.personal_info")
    connection_id = connect(rt, alice, "vk")
    vk_goods.reset_stats()
    check_now(rt, user_id=alice.id, connection_id=connection_id)
    assert vk_goods.stats()["requests"] == {"users.get": 1, "groups.get": 1}


def test_a_health_check_of_a_sync_ready_token_costs_three_requests_more(rt, alice, vk_goods):
    result = connect_with_token(rt, user_id=alice.id, provider="vk", raw_token=vk_goods.user_token())
    assert result.ok and result.connection_id is not None
    vk_goods.reset_stats()
    view = check_now(rt, user_id=alice.id, connection_id=result.connection_id)
    assert view is not None and Rights.from_profile(view.profile).complete
    assert vk_goods.stats()["requests"] == {
        "users.get": 1, "groups.get": 1, "market.getAlbums": 1, "market.getProductPhotoUploadServer": 1}
    assert vk_goods.stats()["rejected_for_rate"] == 0


def test_a_right_the_next_check_cannot_probe_keeps_its_last_known_answer(rt, alice, vk_goods):
    result = connect_with_token(rt, user_id=alice.id, provider="vk", raw_token=vk_goods.user_token())
    assert result.ok and result.connection_id is not None
    first = check_now(rt, user_id=alice.id, connection_id=result.connection_id)
    assert first is not None and Rights.from_profile(first.profile).complete
    vk_goods.configure(group_id=SHOP, goods_enabled=False)  # nothing left to probe goods and photos on
    vk_goods.configure(group_id=COFFEE, goods_enabled=False)

    again = check_now(rt, user_id=alice.id, connection_id=result.connection_id)

    assert again is not None and again.status is Status.ONLINE
    assert Rights.from_profile(again.profile).complete  # not turned into «unknown», so the sync stays ready

