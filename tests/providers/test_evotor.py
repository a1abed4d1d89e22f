"""The Evotor client against the sandbox over HTTP: each status code and how it is classified."""

import pytest

from connhub.providers import ProviderError
from connhub.providers.evotor import EvotorProvider
from connhub.providers.evotor.settings import EvotorSettings
from tests.support.consent import consent


@pytest.fixture
def evotor(rt) -> EvotorProvider:
    return rt.providers.get("evotor")


@pytest.fixture
def cloud_token(sandbox_control):
    from connhub.crypto import Secret

    return Secret(sandbox_control.cloud_token()["token"])


def test_a_working_token_names_the_first_store(evotor, cloud_token):
    account = evotor.fetch_account(cloud_token)
    assert account.display_name == "Чайная"
    assert account.account_id == "20170228-F4F1-401B-80FA-9ECCA8451FFB"
    assert [store["name"] for store in account.profile["stores"]] == ["Чайная", "Кофейня на Садовой"]


@pytest.mark.parametrize(("status", "reason"), [
    (401, "Эвотор отклонил токен — подключите заново"),
    (402, "Приложение не установлено или не оплачено в Эвотор"),
    (403, "Нет доступа: приложение удалено из Личного кабинета Эвотор или не хватает прав — подключите заново"),
])
def test_rejections_need_a_reconnect(evotor, cloud_token, sandbox_control, status, reason):
    sandbox_control.set_fault("evotor-api", status=status)
    with pytest.raises(ProviderError) as raised:
        evotor.fetch_account(cloud_token)
    assert raised.value.permanent
    assert raised.value.reason == reason
    assert raised.value.code == f"http_{status}"


@pytest.mark.parametrize("status", [500, 502, 503, 504, 404])
def test_server_errors_and_unexpected_statuses_are_provider_trouble(evotor, cloud_token, sandbox_control, status):
    sandbox_control.set_fault("evotor-api", status=status)
    with pytest.raises(ProviderError) as raised:
        evotor.fetch_account(cloud_token)
    assert not raised.value.permanent
    assert raised.value.reason == f"Эвотор недоступен (ошибка {status})"


def test_rate_limiting_is_trouble_with_the_reset_hint(evotor, cloud_token, sandbox_control):
    sandbox_control.set_fault("evotor-api", status=429)
    with pytest.raises(ProviderError) as raised:
        evotor.fetch_account(cloud_token)
    assert not raised.value.permanent
    assert raised.value.retry_after == 30


def test_a_timeout_is_trouble(make_rt, sandbox_control, cloud_token):
    evotor = make_rt(HTTP_TIMEOUT_SECONDS=0.3).providers.get("evotor")
    sandbox_control.set_fault("evotor-api", latency_ms=1500, count=1)
    with pytest.raises(ProviderError) as raised:
        evotor.fetch_account(cloud_token)
    assert (raised.value.permanent, raised.value.code) == (False, "timeout")


def test_a_dropped_connection_is_trouble(evotor, cloud_token, sandbox_control):
    sandbox_control.set_fault("evotor-api", drop=True)
    with pytest.raises(ProviderError) as raised:
        evotor.fetch_account(cloud_token)
    assert not raised.value.permanent
    assert raised.value.code in {"connection", "transport"}


@pytest.mark.parametrize(("mode", "status"), [("revoke", 401), ("uninstall", 403), ("unpaid", 402)])
def test_a_revoked_or_uninstalled_app_is_a_rejection(evotor, cloud_token, sandbox_control, mode, status):
    sandbox_control.revoke("evotor", mode=mode)
    with pytest.raises(ProviderError) as raised:
        evotor.fetch_account(cloud_token)
    assert raised.value.permanent
    assert raised.value.code == f"http_{status}"


def test_the_code_flow_yields_tokens_that_work_and_refresh_rotates_them(evotor, rt):
    url = evotor.authorization_url(state="s" * 43, code_verifier="v" * 86, redirect_uri=rt.settings.oauth_redirect_uri)
    assert url.startswith(f"{rt.settings.of(EvotorSettings).EVOTOR_OAUTH_URL}/oauth/authorize?")
    params = consent(url)
    assert params["state"] == "s" * 43
    tokens = evotor.exchange_code(code=params["code"], code_verifier="", redirect_uri=rt.settings.oauth_redirect_uri,
                                  callback=params)
    assert tokens.refresh_token is not None and tokens.expires_at is not None
    assert evotor.fetch_account(tokens.access_token).display_name == "Чайная"

    refreshed = evotor.refresh(tokens)
    assert refreshed.refresh_token != tokens.refresh_token
    assert evotor.fetch_account(refreshed.access_token).display_name == "Чайная"
    with pytest.raises(ProviderError) as raised:
        evotor.refresh(tokens)  # the old refresh token was spent
    assert raised.value.permanent and raised.value.code == "invalid_grant"


def test_a_used_code_cannot_be_exchanged_twice(evotor, rt):
    redirect_uri = rt.settings.oauth_redirect_uri
    params = consent(evotor.authorization_url(state="x" * 43, code_verifier="", redirect_uri=redirect_uri))
    evotor.exchange_code(code=params["code"], code_verifier="", redirect_uri=redirect_uri, callback=params)
    with pytest.raises(ProviderError) as raised:
        evotor.exchange_code(code=params["code"], code_verifier="", redirect_uri=rt.settings.oauth_redirect_uri,
                             callback=params)
    assert raised.value.code == "invalid_grant"


def test_wrong_client_credentials_are_not_blamed_on_the_user(make_rt):
    evotor = make_rt(EVOTOR_CLIENT_SECRET="wrong").providers.get("evotor")
    redirect = evotor.settings.oauth_redirect_uri
    params = consent(evotor.authorization_url(state="y" * 43, code_verifier="", redirect_uri=redirect))
    with pytest.raises(ProviderError) as raised:
        evotor.exchange_code(code=params["code"], code_verifier="", redirect_uri=redirect, callback=params)
    assert raised.value.code == "invalid_client"
    assert not raised.value.permanent


@pytest.mark.parametrize("raw", ["", "   ", "not-a-token", "12345"])
def test_a_pasted_token_of_the_wrong_shape_is_refused_with_a_hint(evotor, raw):
    with pytest.raises(ValueError) as raised:
        evotor.parse_pasted_token(raw)
    assert "Эвотор" in str(raised.value)


def test_a_pasted_token_is_trimmed(evotor):
    assert evotor.parse_pasted_token("  F46B89A5-8E80-4591-B0AA-94551790444B \n").reveal() == \
        "f46b89a5-8e80-4591-b0aa-94551790444b"
