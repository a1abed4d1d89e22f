"""The VK client against the sandbox over HTTP: VK ID with PKCE, refresh rotation, users.get errors."""

import pytest

from connhub.crypto import Secret
from connhub.providers import ProviderError, TokenSet
from connhub.providers.vk import VkProvider
from connhub.providers.vk.settings import VkSettings
from tests.support.consent import consent


@pytest.fixture
def vk(rt) -> VkProvider:
    return rt.providers.get("vk")


@pytest.fixture
def grant(sandbox_control) -> TokenSet:
    minted = sandbox_control.mint_tokens("vk", count=1)["tokens"][0]
    return TokenSet(access_token=Secret(minted["access_token"]), refresh_token=Secret(minted["refresh_token"]),
                    auth_params={"device_id": minted["device_id"]})


def test_a_working_token_names_the_profile(vk, grant):
    account = vk.fetch_account(grant.access_token)
    assert account.display_name == "Иван Иванов"
    rights = account.profile.pop("rights")
    assert account.profile == {"user_id": 743784474, "first_name": "Иван", "last_name": "Иванов"}
    assert (rights["groups"], rights["market"], rights["photos"]) == (False, None, None)  # only vkid.personal_info


@pytest.mark.parametrize("code", [5, 18, 27, 28, 17, 24])
def test_token_rejections_need_a_reconnect(vk, grant, sandbox_control, code):
    sandbox_control.set_fault("vk-api", vk_error=code)
    with pytest.raises(ProviderError) as raised:
        vk.fetch_account(grant.access_token)
    assert raised.value.permanent
    assert raised.value.code == f"vk_{code}"


@pytest.mark.parametrize("code", [1, 6, 9, 10, 14, 29, 100])
def test_other_vk_errors_are_trouble_never_a_dead_token(vk, grant, sandbox_control, code):
    sandbox_control.set_fault("vk-api", vk_error=code)
    with pytest.raises(ProviderError) as raised:
        vk.fetch_account(grant.access_token)
    assert not raised.value.permanent
    assert raised.value.code == f"vk_{code}"


@pytest.mark.parametrize("status", [500, 502, 503, 429, 401])
def test_a_non_200_answer_from_vk_is_trouble(vk, grant, sandbox_control, status):
    sandbox_control.set_fault("vk-api", status=status)
    with pytest.raises(ProviderError) as raised:
        vk.fetch_account(grant.access_token)
    assert not raised.value.permanent


def test_a_revoked_token_is_error_5_and_a_banned_user_error_18(vk, grant, sandbox_control):
    sandbox_control.revoke("vk", mode="banned")
    with pytest.raises(ProviderError) as raised:
        vk.fetch_account(grant.access_token)
    assert raised.value.code == "vk_18" and raised.value.permanent
    sandbox_control.revoke("vk", mode="revoke")
    with pytest.raises(ProviderError) as raised:
        vk.fetch_account(grant.access_token)
    assert raised.value.code == "vk_5" and vk.is_rejection_of_access_token(raised.value)


def test_the_authorize_url_carries_an_s256_challenge_and_never_the_verifier(vk, rt):
    verifier = "v" * 86
    url = vk.authorization_url(state="s" * 43, code_verifier=verifier, redirect_uri=rt.settings.oauth_redirect_uri)
    assert url.startswith(f"{rt.settings.of(VkSettings).VK_ID_URL}/authorize?")
    assert "code_challenge_method=S256" in url and "code_challenge=" in url
    assert verifier not in url


def test_the_pkce_flow_yields_rotating_tokens_bound_to_the_device(vk, rt):
    verifier = "k" * 86
    redirect = rt.settings.oauth_redirect_uri
    params = consent(vk.authorization_url(state="s" * 43, code_verifier=verifier, redirect_uri=redirect))
    assert params["state"] == "s" * 43 and params["device_id"]
    tokens = vk.exchange_code(code=params["code"], code_verifier=verifier, redirect_uri=redirect, callback=params)
    assert tokens.auth_params == {"device_id": params["device_id"]}
    assert vk.fetch_account(tokens.access_token).display_name == "Иван Иванов"

    refreshed = vk.refresh(tokens)
    assert refreshed.refresh_token != tokens.refresh_token
    assert refreshed.auth_params == tokens.auth_params
    with pytest.raises(ProviderError) as raised:
        vk.refresh(tokens)  # single use: the rotated-out refresh token is dead
    assert raised.value.permanent and raised.value.code == "invalid_grant"


def test_a_wrong_verifier_is_refused(vk, rt):
    redirect = rt.settings.oauth_redirect_uri
    params = consent(vk.authorization_url(state="s" * 43, code_verifier="a" * 86, redirect_uri=redirect))
    with pytest.raises(ProviderError) as raised:
        vk.exchange_code(code=params["code"], code_verifier="b" * 86, redirect_uri=redirect, callback=params)
    assert raised.value.code == "invalid_grant"


def test_a_callback_without_device_id_is_refused_before_any_request(vk, rt):
    with pytest.raises(ProviderError) as raised:
        vk.exchange_code(code="c", code_verifier="a" * 86, redirect_uri=rt.settings.oauth_redirect_uri, callback={})
    assert raised.value.code == "no_device_id"


def test_a_refresh_while_vk_id_is_down_is_trouble(vk, grant, sandbox_control):
    sandbox_control.set_fault("vk-id", status=503)
    with pytest.raises(ProviderError) as raised:
        vk.refresh(grant)
    assert not raised.value.permanent
