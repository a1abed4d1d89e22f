"""Evotor's emulation over real HTTP: OAuth, GET /stores, the market page."""

from __future__ import annotations

import re

import pytest
import requests

from connhub.providers.evotor.sandbox import EVOTOR_CLIENT_ID, EVOTOR_CLIENT_SECRET
from tests.sandbox.helpers import (
    CALLBACK,
    EVOTOR_USER,
    EVOTOR_USER_2,
    TIMEOUT,
    evotor_authorize,
    evotor_exchange,
    evotor_token,
    get,
    stores,
)

pytestmark = pytest.mark.timeout(60)


# ----- Evotor OAuth -----

def test_evotor_code_flow_gives_tokens_that_list_stores(sandbox):
    redirect = evotor_authorize(sandbox, state="s-123")
    assert redirect["state"] == "s-123"

    answer = evotor_exchange(sandbox, redirect["code"])
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 604799
    assert tokens["scope"] == "store:read"
    assert re.fullmatch(r"[0-9a-f-]{36}", tokens["access_token"])
    assert re.fullmatch(r"[0-9a-f-]{36}", tokens["refresh_token"])

    listing = stores(sandbox, tokens["access_token"])
    assert listing.status_code == 200
    assert listing.headers["Content-Type"].startswith("application/json")
    assert listing.headers["X-RateLimit-Limit"] == "100"
    assert int(listing.headers["X-RateLimit-Remaining"]) < 100
    assert int(listing.headers["X-RateLimit-Reset"]) > 0
    body = listing.json()
    assert body["paging"] == {}
    assert [store["name"] for store in body["items"]] == ["Чайная", "Кофейня на Садовой"]
    first = body["items"][0]
    assert first["id"] == "20170228-F4F1-401B-80FA-9ECCA8451FFB"
    assert first["user_id"] == EVOTOR_USER
    assert {"address", "created_at", "updated_at"} <= set(first)


def test_evotor_consent_shows_accounts_by_store_names(sandbox):
    page = get(f"{sandbox.base_url}/evotor/oauth/authorize", params={
        "client_id": EVOTOR_CLIENT_ID, "response_type": "code", "redirect_uri": CALLBACK})
    assert "<title>Эвотор</title>" in page.text
    assert "Приложение «connhub» запрашивает доступ к" in page.text
    assert ">Чайная, Кофейня на Садовой</option>" in page.text
    assert ">Пекарня</option>" in page.text
    assert 'id="allow"' in page.text and 'id="deny"' in page.text and 'id="account"' in page.text


def test_evotor_code_belongs_to_the_chosen_account(sandbox):
    redirect = evotor_authorize(sandbox, account=EVOTOR_USER_2, state=None)
    assert "state" not in redirect
    tokens = evotor_exchange(sandbox, redirect["code"]).json()
    assert [store["name"] for store in stores(sandbox, tokens["access_token"]).json()["items"]] == ["Пекарня"]


def test_evotor_redirect_keeps_an_existing_query_string(sandbox):
    redirect = evotor_authorize(sandbox, redirect_uri=f"{CALLBACK}?provider=evotor")
    assert redirect["provider"] == "evotor"
    assert evotor_exchange(sandbox, redirect["code"], f"{CALLBACK}?provider=evotor").status_code == 200


def test_evotor_deny_redirects_with_access_denied(sandbox):
    redirect = evotor_authorize(sandbox, decision="deny", state="s-9")
    assert redirect == {"error": "access_denied", "error_description": "User denied access", "state": "s-9"}


def test_evotor_authorize_with_unknown_client_or_no_redirect_uri_is_an_error_page(sandbox):
    unknown = get(f"{sandbox.base_url}/evotor/oauth/authorize",
                  params={"client_id": "nobody", "response_type": "code", "redirect_uri": CALLBACK})
    missing = get(f"{sandbox.base_url}/evotor/oauth/authorize",
                  params={"client_id": EVOTOR_CLIENT_ID, "response_type": "code"})
    for answer in (unknown, missing):
        assert answer.status_code == 400
        assert "Location" not in answer.headers
        assert "Ошибка" in answer.text


def test_evotor_consent_escapes_echoed_values(sandbox):
    page = get(f"{sandbox.base_url}/evotor/oauth/authorize", params={
        "client_id": EVOTOR_CLIENT_ID, "response_type": "code", "redirect_uri": CALLBACK,
        "state": '"><script>alert(1)</script>'})
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;" in page.text


def test_evotor_token_with_bad_client_is_401(sandbox):
    code = evotor_authorize(sandbox)["code"]
    answer = evotor_token(sandbox, {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
                          auth=(EVOTOR_CLIENT_ID, "wrong"))
    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid_client", "error_description": "Bad client credentials"}
    no_auth = evotor_token(sandbox, {"grant_type": "authorization_code", "code": code}, auth=None)
    assert no_auth.status_code == 401


def test_evotor_token_accepts_client_credentials_in_the_body(sandbox):
    code = evotor_authorize(sandbox)["code"]
    answer = evotor_token(sandbox, {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                                    "client_id": EVOTOR_CLIENT_ID, "client_secret": EVOTOR_CLIENT_SECRET},
                          auth=None)
    assert answer.status_code == 200, answer.text


def test_evotor_code_is_single_use(sandbox):
    code = evotor_authorize(sandbox)["code"]
    assert evotor_exchange(sandbox, code).status_code == 200
    again = evotor_exchange(sandbox, code)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant", "error_description": f"Invalid authorization code: {code}"}


def test_evotor_code_with_another_redirect_uri_is_invalid_grant(sandbox):
    code = evotor_authorize(sandbox)["code"]
    answer = evotor_exchange(sandbox, code, "http://localhost:8501/elsewhere")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_evotor_token_without_parameters_or_with_other_grant_is_rejected(sandbox):
    missing = evotor_token(sandbox, {"grant_type": "authorization_code"})
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    other = evotor_token(sandbox, {"grant_type": "password", "username": "u", "password": "p"})
    assert (other.status_code, other.json()["error"]) == (400, "unsupported_grant_type")


def test_evotor_refresh_rotates_and_rejects_the_old_refresh_token(sandbox, control):
    tokens = evotor_exchange(sandbox, evotor_authorize(sandbox)["code"]).json()
    refreshed = evotor_token(sandbox, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert new["access_token"] != tokens["access_token"]
    assert stores(sandbox, new["access_token"]).status_code == 200
    assert stores(sandbox, tokens["access_token"]).status_code == 200, "the old access token lives until expiry"

    reused = evotor_token(sandbox, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert control.stats()["refreshes"]["evotor"] == 2


@pytest.mark.parametrize("header", ["Authorization", "X-Authorization"])
def test_evotor_stores_accepts_either_auth_header(sandbox, control, header):
    token = control.mint_tokens("evotor")["tokens"][0]["access_token"]
    assert stores(sandbox, token, header=header).status_code == 200


def test_evotor_stores_bearer_scheme_is_case_insensitive(sandbox, control):
    token = control.mint_tokens("evotor")["tokens"][0]["access_token"]
    answer = get(f"{sandbox.base_url}/evotor/api/stores", headers={"Authorization": f"bearer {token}"})
    assert answer.status_code == 200


def test_evotor_stores_is_served_when_either_header_carries_a_valid_token(sandbox, control):
    token = control.mint_tokens("evotor")["tokens"][0]["access_token"]
    answer = get(f"{sandbox.base_url}/evotor/api/stores",
                 headers={"Authorization": "Bearer not-a-token", "X-Authorization": token})
    assert answer.status_code == 200


def test_evotor_stores_without_a_known_token_is_401(sandbox):
    unknown = stores(sandbox, "f46b89a5-8e80-4591-b0aa-94551790444b")
    assert unknown.status_code == 401
    assert unknown.json() == {"code": "unauthorized", "message": "invalid token"}
    assert get(f"{sandbox.base_url}/evotor/api/stores").status_code == 401


@pytest.mark.parametrize(("mode", "status", "code"), [
    ("revoke", 401, "unauthorized"),
    ("uninstall", 403, "forbidden"),
    ("unpaid", 402, "payment_required"),
])
def test_evotor_revoke_mode_decides_the_stores_status(sandbox, control, mode, status, code):
    token = control.mint_tokens("evotor")["tokens"][0]["access_token"]
    assert control.revoke("evotor", mode=mode) == {"affected": 1}
    answer = stores(sandbox, token)
    assert (answer.status_code, answer.json()["code"]) == (status, code)


def test_evotor_revoke_kills_the_refresh_token_too(sandbox, control):
    minted = control.mint_tokens("evotor")["tokens"][0]
    control.revoke("evotor", token=minted["access_token"])
    answer = evotor_token(sandbox, {"grant_type": "refresh_token", "refresh_token": minted["refresh_token"]})
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")


def test_evotor_revoke_can_target_one_account_or_one_token(sandbox, control):
    first, second = control.mint_tokens("evotor", count=2)["tokens"]
    other = control.mint_tokens("evotor", account_id=EVOTOR_USER_2)["tokens"][0]
    assert control.revoke("evotor", account_id=EVOTOR_USER_2) == {"affected": 1}
    assert control.revoke("evotor", token=first["access_token"]) == {"affected": 1}
    assert [stores(sandbox, t["access_token"]).status_code for t in (first, second, other)] == [401, 200, 401]


def test_evotor_expire_makes_access_tokens_401_while_refresh_still_works(sandbox, control):
    minted = control.mint_tokens("evotor")["tokens"][0]
    assert control.expire("evotor") == {"affected": 1}
    assert stores(sandbox, minted["access_token"]).status_code == 401
    refreshed = evotor_token(sandbox, {"grant_type": "refresh_token", "refresh_token": minted["refresh_token"]})
    assert stores(sandbox, refreshed.json()["access_token"]).status_code == 200


def test_evotor_stores_paginates_with_an_opaque_cursor(sandbox, control):
    token = control.mint_tokens("evotor")["tokens"][0]["access_token"]
    first = stores(sandbox, token, limit=1).json()
    assert [store["name"] for store in first["items"]] == ["Чайная"]
    cursor = first["paging"]["next_cursor"]
    second = stores(sandbox, token, limit=1, cursor=cursor).json()
    assert [store["name"] for store in second["items"]] == ["Кофейня на Садовой"]
    assert second["paging"] == {}


def test_evotor_stores_rejects_a_bad_limit_or_cursor(sandbox, control):
    token = control.mint_tokens("evotor")["tokens"][0]["access_token"]
    for params in ({"limit": "0"}, {"limit": "many"}, {"cursor": "garbage!"}):
        answer = stores(sandbox, token, **params)
        assert (answer.status_code, answer.json()["code"]) == (400, "validation_failed")


def test_configured_evotor_lifetime_applies_to_new_grants(sandbox, control):
    assert control.configure(evotor_access_ttl=120)["evotor_access_ttl"] == 120
    tokens = evotor_exchange(sandbox, evotor_authorize(sandbox)["code"]).json()
    assert tokens["expires_in"] == 120


# ----- the Evotor market page -----

def market_token(sandbox, session: requests.Session, account: str | None = None) -> str:
    page = session.get(f"{sandbox.base_url}/evotor/market", params={"account": account} if account else None,
                       timeout=TIMEOUT)
    assert page.status_code == 200
    return re.search(r'<code id="cloud-token">([^<]+)</code>', page.text).group(1)


def test_market_page_shows_a_stable_cloud_token_that_lists_stores(sandbox, control):
    with requests.Session() as browser:
        token = market_token(sandbox, browser)
        page = browser.get(f"{sandbox.base_url}/evotor/market", timeout=TIMEOUT).text
        assert "Токен приложения" in page and "Выпустить новый токен" in page
        assert f'href="/evotor/market?account={EVOTOR_USER_2}"' in page
        assert market_token(sandbox, browser) == token
        assert control.cloud_token() == {"token": token}
    assert stores(sandbox, token, header="X-Authorization").json()["items"][0]["name"] == "Чайная"


def test_market_reissue_revokes_the_old_token(sandbox):
    with requests.Session() as browser:
        old = market_token(sandbox, browser, EVOTOR_USER_2)
        answer = browser.post(f"{sandbox.base_url}/evotor/market", data={"account": EVOTOR_USER_2}, timeout=TIMEOUT)
        assert answer.status_code == 200, "the button redirects back to the page"
        new = market_token(sandbox, browser, EVOTOR_USER_2)
    assert new != old
    assert stores(sandbox, old).status_code == 401
    assert stores(sandbox, new).json()["items"][0]["name"] == "Пекарня"


