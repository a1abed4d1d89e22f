"""VK's emulation over real HTTP: VK ID (PKCE, device_id, rotation) and users.get."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from connhub.providers.vk.sandbox import VK_CLIENT_ID
from tests.sandbox.helpers import (
    CALLBACK,
    VK_USER,
    VK_USER_2,
    get,
    pkce_pair,
    post,
    users_get,
    vk_auth,
    vk_authorize,
    vk_connect,
    vk_error,
    vk_exchange,
    vk_refresh,
)

pytestmark = pytest.mark.timeout(60)


# ----- VK ID and users.get -----

def test_vk_flow_with_pkce_gives_tokens_for_the_chosen_user(sandbox):
    verifier, challenge = pkce_pair()
    redirect = vk_authorize(sandbox, challenge, state="csrf-1", account=str(VK_USER_2))
    assert (redirect["type"], redirect["state"], redirect["expires_in"]) == ("code_v2", "csrf-1", "600")
    assert redirect["code"] and redirect["device_id"]

    wrong = vk_exchange(sandbox, redirect, pkce_pair()[0])
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")

    right = vk_exchange(sandbox, redirect, verifier, state="echo-me")
    assert right.status_code == 200, right.text
    tokens = right.json()
    assert tokens["state"] == "echo-me"
    assert tokens["user_id"] == VK_USER_2
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["scope"] == "vkid.personal_info"
    assert tokens["id_token"].count(".") == 2
    assert tokens["refresh_token"]

    users = users_get(sandbox, tokens["access_token"]).json()["response"]
    assert users == [{"id": VK_USER_2, "first_name": "Мария", "last_name": "Петрова",
                      "can_access_closed": True, "is_closed": False}]


def test_vk_consent_shows_users_by_name(sandbox):
    _, challenge = pkce_pair()
    page = get(f"{sandbox.base_url}/vkid/authorize", params={
        "response_type": "code", "client_id": VK_CLIENT_ID, "redirect_uri": CALLBACK, "state": "s",
        "code_challenge": challenge, "code_challenge_method": "S256"})
    assert "<title>VK ID</title>" in page.text
    assert f'<option value="{VK_USER}" selected>Иван Иванов</option>' in page.text
    assert ">Мария Петрова</option>" in page.text


def test_vk_deny_redirects_with_access_denied(sandbox):
    _, challenge = pkce_pair()
    redirect = vk_authorize(sandbox, challenge, state="s-2", decision="deny")
    assert redirect == {"error": "access_denied", "error_description": "User denied access", "state": "s-2"}


@pytest.mark.parametrize("pkce", [{}, {"code_challenge_method": "plain"}], ids=["no-challenge", "plain"])
def test_vk_authorize_without_s256_pkce_redirects_with_invalid_request(sandbox, pkce):
    _, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": VK_CLIENT_ID, "redirect_uri": CALLBACK, "state": "s-3"}
    if pkce:
        params.update(code_challenge=challenge, **pkce)
    answer = get(f"{sandbox.base_url}/vkid/authorize", params=params)
    assert answer.status_code == 302
    redirect = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert redirect["error"] == ["invalid_request"]
    assert redirect["state"] == ["s-3"]
    assert redirect["error_description"]


def test_vk_authorize_with_unknown_client_is_an_error_page(sandbox):
    answer = get(f"{sandbox.base_url}/vkid/authorize", params={
        "response_type": "code", "client_id": "nobody", "redirect_uri": CALLBACK, "state": "s"})
    assert answer.status_code == 400
    assert "Location" not in answer.headers


def test_vk_exchange_requires_device_id_and_binds_it(sandbox):
    verifier, challenge = pkce_pair()
    redirect = vk_authorize(sandbox, challenge)
    missing = vk_exchange(sandbox, redirect, verifier, device_id=None)
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    other = vk_exchange(sandbox, redirect, verifier, device_id="another-device")
    assert (other.status_code, other.json()["error"]) == (400, "invalid_grant")
    assert vk_exchange(sandbox, redirect, verifier).status_code == 200


def test_vk_exchange_takes_parameters_from_query_and_body(sandbox):
    verifier, challenge = pkce_pair()
    redirect = vk_authorize(sandbox, challenge)
    query = {"grant_type": "authorization_code", "code_verifier": verifier, "client_id": VK_CLIENT_ID,
             "device_id": redirect["device_id"], "redirect_uri": CALLBACK, "state": "q"}
    answer = vk_auth(sandbox, {"code": redirect["code"]}, query=query)
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "q"


def test_vk_exchange_with_unknown_client_is_invalid_client(sandbox):
    verifier, challenge = pkce_pair()
    redirect = vk_authorize(sandbox, challenge)
    answer = vk_exchange(sandbox, redirect, verifier, client_id="nobody")
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_client")


def test_vk_code_is_single_use(sandbox):
    verifier, challenge = pkce_pair()
    redirect = vk_authorize(sandbox, challenge)
    assert vk_exchange(sandbox, redirect, verifier).status_code == 200
    again = vk_exchange(sandbox, redirect, verifier)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_vk_refresh_rotates_and_each_refresh_token_works_once(sandbox, control):
    tokens, device_id = vk_connect(sandbox)
    refreshed = vk_refresh(sandbox, tokens["refresh_token"], device_id)
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert new["state"] == "refresh-state"
    assert "id_token" not in new
    assert new["refresh_token"] != tokens["refresh_token"]
    assert "response" in users_get(sandbox, new["access_token"]).json()

    reused = vk_refresh(sandbox, tokens["refresh_token"], device_id)
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert vk_refresh(sandbox, new["refresh_token"], device_id).status_code == 200
    assert control.stats()["refreshes"]["vk"] == 3


def test_vk_refresh_with_another_device_id_is_invalid_grant(sandbox):
    tokens, _ = vk_connect(sandbox)
    answer = vk_refresh(sandbox, tokens["refresh_token"], "another-device")
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")


def test_vk_expired_token_gets_error_5_expired_and_refresh_recovers(sandbox, control):
    tokens, device_id = vk_connect(sandbox)
    assert control.expire("vk") == {"affected": 1}
    error = vk_error(users_get(sandbox, tokens["access_token"]))
    assert error["error_code"] == 5
    assert error["error_msg"] == "User authorization failed: access_token has expired."
    new = vk_refresh(sandbox, tokens["refresh_token"], device_id).json()
    assert "response" in users_get(sandbox, new["access_token"]).json()


def test_vk_revoked_token_gets_error_5_and_its_refresh_token_dies(sandbox, control):
    tokens, device_id = vk_connect(sandbox)
    assert control.revoke("vk", account_id=VK_USER) == {"affected": 1}
    error = vk_error(users_get(sandbox, tokens["access_token"]))
    assert error["error_code"] == 5
    assert error["error_msg"] == "User authorization failed: user revoke access for this token."
    answer = vk_refresh(sandbox, tokens["refresh_token"], device_id)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize("mode", ["banned", "deleted"])
def test_vk_banned_or_deleted_user_gets_error_18(sandbox, control, mode):
    token = control.mint_tokens("vk")["tokens"][0]["access_token"]
    control.revoke("vk", mode=mode)
    error = vk_error(users_get(sandbox, token))
    assert (error["error_code"], error["error_msg"]) == (18, "User was deleted or banned")


def test_vk_call_without_v_is_error_8(sandbox, control):
    token = control.mint_tokens("vk")["tokens"][0]["access_token"]
    answer = get(f"{sandbox.base_url}/vk/method/users.get", headers={"Authorization": f"Bearer {token}"})
    error = vk_error(answer)
    assert (error["error_code"], error["error_msg"]) == (8, "Invalid request: v (version) is required")


def test_vk_call_without_token_is_error_5(sandbox):
    error = vk_error(users_get(sandbox, None, user_ids="1"))
    assert error["error_code"] == 5
    assert error["error_msg"] == "User authorization failed: no access_token passed."
    assert error["request_params"] == [
        {"key": "method", "value": "users.get"}, {"key": "oauth", "value": "1"},
        {"key": "v", "value": "5.199"}, {"key": "user_ids", "value": "1"},
    ]


def test_vk_call_with_unknown_token_is_error_5_invalid(sandbox):
    error = vk_error(users_get(sandbox, "vk2.a.nonsense"))
    assert (error["error_code"], error["error_msg"]) == (5, "User authorization failed: invalid access_token (4).")


def test_vk_unknown_method_is_error_3(sandbox, control):
    token = control.mint_tokens("vk")["tokens"][0]["access_token"]
    answer = get(f"{sandbox.base_url}/vk/method/wall.get", params={"v": "5.199", "access_token": token})
    error = vk_error(answer)
    assert (error["error_code"], error["error_msg"]) == (3, "Unknown method passed")
    assert {"key": "method", "value": "wall.get"} in error["request_params"]


def test_vk_users_get_takes_a_form_token_user_ids_and_fields(sandbox, control):
    token = control.mint_tokens("vk")["tokens"][0]["access_token"]
    answer = post(f"{sandbox.base_url}/vk/method/users.get", data={
        "access_token": token, "v": "5.199", "user_ids": f"{VK_USER_2},1", "fields": "photo_100"})
    users = answer.json()["response"]
    assert [user["id"] for user in users] == [VK_USER_2]
    assert users[0]["photo_100"].startswith("https://")


def test_vk_user_info_describes_the_token_owner(sandbox, control):
    token = control.mint_tokens("vk")["tokens"][0]["access_token"]
    answer = post(f"{sandbox.base_url}/vkid/oauth2/user_info", params={"client_id": VK_CLIENT_ID},
                  data={"access_token": token})
    assert answer.json() == {"user": {"user_id": str(VK_USER), "first_name": "Иван", "last_name": "Иванов",
                                      "avatar": ""}}
    bad = post(f"{sandbox.base_url}/vkid/oauth2/user_info", params={"client_id": VK_CLIENT_ID},
               data={"access_token": "vk2.a.nonsense"})
    assert (bad.status_code, bad.json()["error"]) == (401, "invalid_token")


def test_vk_revoke_endpoint_ends_the_grant(sandbox, control):
    minted = control.mint_tokens("vk")["tokens"][0]
    answer = post(f"{sandbox.base_url}/vkid/oauth2/revoke",
                  data={"access_token": minted["access_token"], "client_id": VK_CLIENT_ID})
    assert answer.json() == {"response": 1}
    assert vk_error(users_get(sandbox, minted["access_token"]))["error_code"] == 5
    assert vk_refresh(sandbox, minted["refresh_token"], minted["device_id"]).status_code == 400




# ----- what the sandbox communities hold, for a person -----

def test_the_index_links_a_page_that_shows_each_community_and_its_items(sandbox):
    from connhub.providers.vk.sandbox import GoodsControl

    goods = GoodsControl(sandbox.base_url)
    goods.seed_items(218252177, 2, sku_prefix="demo-")
    index = get(f"{sandbox.base_url}/")
    assert 'href="/vk/communities"' in index.text

    overview = get(f"{sandbox.base_url}/vk/communities")
    assert overview.status_code == 200
    for name, group_id in (("Магазин у дома", 218252175), ("Кофейня на Садовой", 218252177)):
        assert name in overview.text
        assert f'href="/vk/communities?group_id={group_id}"' in overview.text
    assert "Товары сообществ песочницы" in overview.text

    shop = get(f"{sandbox.base_url}/vk/communities?group_id=218252177")
    assert shop.status_code == 200
    assert "Кофейня на Садовой" in shop.text and "demo-1" in shop.text and "demo-2" in shop.text
    empty = get(f"{sandbox.base_url}/vk/communities?group_id=218252175")
    assert "Товаров нет" in empty.text
    unknown = get(f"{sandbox.base_url}/vk/communities?group_id=1")
    assert unknown.status_code == 404 and "Нет такого сообщества" in unknown.text


def test_the_items_control_route_without_a_community_lists_every_community(sandbox):
    from connhub.providers.vk.sandbox import GoodsControl

    GoodsControl(sandbox.base_url).seed_items(218252177, 1)
    answer = get(f"{sandbox.base_url}/_sandbox/vk/items")
    assert answer.status_code == 200
    by_group = {entry["group_id"]: entry for entry in answer.json()["communities"]}
    assert by_group[218252177]["name"] == "Кофейня на Садовой"
    assert len(by_group[218252177]["items"]) == 1 and by_group[218252175]["items"] == []
