"""The provider sandbox, tested over real HTTP like a client (and a browser) would use it."""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from connhub.providers.evotor.sandbox import EVOTOR_CLIENT_ID, EVOTOR_CLIENT_SECRET
from connhub.providers.vk.sandbox import VK_CLIENT_ID
from connhub.sandbox import SandboxControl, SandboxControlError, SandboxServer

pytestmark = pytest.mark.timeout(60)

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10
EVOTOR_USER = "01-000000000000001"
EVOTOR_USER_2 = "01-000000000000002"
VK_USER = 743784474
VK_USER_2 = 100200300
CALLBACK = "http://localhost:8501/oauth_callback"


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(port=0) as server:
        yield server


@pytest.fixture(scope="module")
def control(sandbox):
    client = SandboxControl(sandbox.base_url)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _fresh_state(control):
    control.reset()


# ----- helpers: a browser on the consent screen, a client on the token endpoints -----

def get(url: str, **kwargs) -> requests.Response:
    return requests.get(url, timeout=TIMEOUT, allow_redirects=False, **kwargs)


def post(url: str, **kwargs) -> requests.Response:
    return requests.post(url, timeout=TIMEOUT, allow_redirects=False, **kwargs)


def consent_form(page: str) -> tuple[str, dict[str, str], list[str]]:
    """(form action, hidden fields, account options) of a consent screen."""
    action = html.unescape(re.search(r'<form method="post" action="([^"]*)"', page).group(1))
    hidden = {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    }
    accounts = [html.unescape(value) for value in re.findall(r'<option value="([^"]*)"', page)]
    return action, hidden, accounts


def click_consent(base_url: str, authorize_url: str, params: dict, decision: str = "allow",
                  account: str | None = None) -> dict[str, str]:
    """Open the consent screen, press a button, return the parameters of the redirect to the client."""
    page = get(f"{base_url}{authorize_url}", params=params)
    assert page.status_code == 200, page.text
    action, hidden, accounts = consent_form(page.text)
    answer = post(f"{base_url}{action}", data={**hidden, "account": account or accounts[0], "decision": decision})
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(params["redirect_uri"].split("?")[0])
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def evotor_authorize(sandbox, *, state: str | None = "evo-state", redirect_uri: str = CALLBACK,
                     decision: str = "allow", account: str | None = None) -> dict[str, str]:
    params = {"client_id": EVOTOR_CLIENT_ID, "response_type": "code", "redirect_uri": redirect_uri}
    if state is not None:
        params["state"] = state
    return click_consent(sandbox.base_url, "/evotor/oauth/authorize", params, decision, account)


def evotor_token(sandbox, data: dict, auth=(EVOTOR_CLIENT_ID, EVOTOR_CLIENT_SECRET)) -> requests.Response:
    return post(f"{sandbox.base_url}/evotor/oauth/token", data=data, auth=auth)


def evotor_exchange(sandbox, code: str, redirect_uri: str = CALLBACK) -> requests.Response:
    return evotor_token(sandbox, {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})


def stores(sandbox, token: str, header: str = "Authorization", **params) -> requests.Response:
    value = f"Bearer {token}" if header == "Authorization" else token
    return get(f"{sandbox.base_url}/evotor/api/stores", headers={header: value}, params=params)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def vk_authorize(sandbox, challenge: str, *, state: str = "vk-state", decision: str = "allow",
                 account: str | None = None, method: str = "s256") -> dict[str, str]:
    params = {
        "response_type": "code", "client_id": VK_CLIENT_ID, "redirect_uri": CALLBACK, "state": state,
        "code_challenge": challenge, "code_challenge_method": method, "scope": "vkid.personal_info",
    }
    return click_consent(sandbox.base_url, "/vkid/authorize", params, decision, account)


def vk_auth(sandbox, data: dict, query: dict | None = None) -> requests.Response:
    return post(f"{sandbox.base_url}/vkid/oauth2/auth", data=data, params=query)


def vk_exchange(sandbox, redirect: dict[str, str], verifier: str, **overrides) -> requests.Response:
    data = {
        "grant_type": "authorization_code", "code": redirect["code"], "code_verifier": verifier,
        "client_id": VK_CLIENT_ID, "device_id": redirect["device_id"], "redirect_uri": CALLBACK,
        "state": "exchange-state",
    }
    data.update(overrides)
    return vk_auth(sandbox, {name: value for name, value in data.items() if value is not None})


def vk_connect(sandbox, account: str | None = None) -> tuple[dict, str]:
    """A full VK ID connect; returns (token answer, device_id)."""
    verifier, challenge = pkce_pair()
    redirect = vk_authorize(sandbox, challenge, account=account)
    answer = vk_exchange(sandbox, redirect, verifier)
    assert answer.status_code == 200, answer.text
    return answer.json(), redirect["device_id"]


def vk_refresh(sandbox, refresh_token: str, device_id: str) -> requests.Response:
    return vk_auth(sandbox, {"grant_type": "refresh_token", "refresh_token": refresh_token,
                             "client_id": VK_CLIENT_ID, "device_id": device_id, "state": "refresh-state"})


def users_get(sandbox, token: str | None, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return get(f"{sandbox.base_url}/vk/method/users.get", headers=headers, params={"v": "5.199", **params})


def vk_error(response: requests.Response) -> dict:
    assert response.status_code == 200, "VK API errors are HTTP 200"
    body = response.json()
    assert "response" not in body
    return body["error"]


# ----- basics -----

def test_healthz_answers_ok(sandbox):
    answer = get(f"{sandbox.base_url}/healthz")
    assert (answer.status_code, answer.text) == (200, "ok")


def test_index_page_is_russian_and_links_the_market_page(sandbox):
    answer = get(f"{sandbox.base_url}/")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "Песочница провайдеров connhub" in answer.text
    assert 'href="/evotor/market"' in answer.text
    assert "/vk/method/" in answer.text


def test_env_points_the_client_at_the_sandbox(sandbox):
    env = sandbox.env()
    assert env["EVOTOR_OAUTH_URL"] == f"{sandbox.base_url}/evotor"
    assert env["EVOTOR_API_URL"] == f"{sandbox.base_url}/evotor/api"
    assert env["VK_ID_URL"] == f"{sandbox.base_url}/vkid"
    assert env["VK_API_URL"] == f"{sandbox.base_url}/vk"
    assert (env["EVOTOR_CLIENT_ID"], env["EVOTOR_CLIENT_SECRET"], env["VK_CLIENT_ID"]) == (
        "sandbox-evotor-client", "sandbox-evotor-secret", "sandbox-vk-client")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sandbox.base_url)


def test_unknown_path_is_404_and_wrong_method_is_405(sandbox):
    assert get(f"{sandbox.base_url}/nowhere").status_code == 404
    answer = get(f"{sandbox.base_url}/evotor/oauth/token")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST"


def test_stop_cuts_open_keepalive_connections():
    server = SandboxServer().start()
    with requests.Session() as session:
        assert session.get(f"{server.base_url}/healthz", timeout=TIMEOUT).status_code == 200
        server.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(f"{server.base_url}/healthz", timeout=TIMEOUT)


def test_cli_prints_its_address_and_exits_cleanly_on_sigterm():
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "connhub.sandbox", "--port", "0"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        match = re.fullmatch(r"connhub sandbox listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        assert get(f"{match.group(1)}/healthz").text == "ok"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=TIMEOUT) == 0
    finally:
        process.kill()
        process.communicate()


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


# ----- faults -----

def test_fault_latency_delays_the_answer(sandbox, control):
    control.set_fault("evotor-api", latency_ms=300)
    started = time.monotonic()
    answer = stores(sandbox, "unknown-token")
    assert time.monotonic() - started >= 0.3
    assert answer.status_code == 401, "latency delays the real answer"


def test_fault_status_503_replaces_the_answer(sandbox, control):
    token = control.mint_tokens("evotor")["tokens"][0]["access_token"]
    control.set_fault("evotor-api", status=503)
    answer = stores(sandbox, token)
    assert answer.status_code == 503
    assert answer.headers["Content-Type"].startswith("application/json")
    answer.json()


def test_fault_status_429_carries_rate_limit_headers(sandbox, control):
    control.set_fault("evotor-api", status=429)
    answer = stores(sandbox, "any")
    assert answer.status_code == 429
    assert (answer.headers["X-RateLimit-Reset"], answer.headers["Retry-After"]) == ("30", "30")


def test_fault_on_oauth_answers_an_oauth_error(sandbox, control):
    control.set_fault("vk-id", status=503)
    answer = vk_refresh(sandbox, "whatever", "device")
    assert (answer.status_code, answer.json()["error"]) == (503, "temporarily_unavailable")


def test_fault_vk_error_6_is_http_200(sandbox, control):
    token = control.mint_tokens("vk")["tokens"][0]["access_token"]
    control.set_fault("vk-api", vk_error=6)
    error = vk_error(users_get(sandbox, token))
    assert (error["error_code"], error["error_msg"]) == (6, "Too many requests per second")


def test_fault_vk_error_14_carries_the_captcha(sandbox, control):
    control.set_fault("vk-api", vk_error=14)
    error = vk_error(users_get(sandbox, "any"))
    assert error["error_code"] == 14
    assert error["captcha_sid"] and error["captcha_img"]


def test_fault_vk_error_is_refused_for_other_targets(control):
    with pytest.raises(SandboxControlError) as refused:
        control.set_fault("evotor-api", vk_error=6)
    assert refused.value.status == 400


def test_fault_drop_closes_the_connection_without_an_answer(sandbox, control):
    control.set_fault("evotor-api", drop=True, count=1)
    with pytest.raises(requests.ConnectionError):
        stores(sandbox, "any")
    assert stores(sandbox, "any").status_code == 401
    assert control.stats()["requests"]["evotor-api"] == 2, "the client saw the drop; nothing retried"


def test_fault_count_clears_itself_after_n_requests(sandbox, control):
    token = control.mint_tokens("evotor")["tokens"][0]["access_token"]
    control.set_fault("evotor-api", status=503, count=2)
    assert [stores(sandbox, token).status_code for _ in range(3)] == [503, 503, 200]
    assert control.faults() == {"faults": {}}


def test_fault_all_hits_every_provider_but_not_control_or_health(sandbox, control):
    control.set_fault("all", status=500)
    assert stores(sandbox, "any").status_code == 500
    assert users_get(sandbox, "any").status_code == 500
    assert evotor_token(sandbox, {"grant_type": "refresh_token"}).status_code == 500
    assert vk_refresh(sandbox, "rt", "device").status_code == 500
    assert get(f"{sandbox.base_url}/healthz").status_code == 200
    assert control.stats()["requests"]["evotor-api"] == 1


def test_fault_for_a_target_wins_over_all(sandbox, control):
    control.set_fault("all", status=500)
    control.set_fault("evotor-api", status=502)
    assert stores(sandbox, "any").status_code == 502
    assert users_get(sandbox, "any").status_code == 500


def test_clear_faults_restores_normal_answers(sandbox, control):
    control.set_fault("evotor-api", status=503)
    assert control.clear_faults() == {"faults": {}}
    assert stores(sandbox, "any").status_code == 401


# ----- minted tokens -----

def test_minted_tokens_in_bulk_work_against_the_apis(sandbox, control):
    evotor_tokens = control.mint_tokens("evotor", count=500, account_id=EVOTOR_USER_2)["tokens"]
    vk_tokens = control.mint_tokens("vk", count=500, account_id=VK_USER_2)["tokens"]
    assert len({t["access_token"] for t in evotor_tokens}) == 500
    assert len({t["access_token"] for t in vk_tokens}) == 500
    for minted in (evotor_tokens[0], evotor_tokens[-1]):
        assert minted["account_id"] == EVOTOR_USER_2
        assert stores(sandbox, minted["access_token"]).json()["items"][0]["name"] == "Пекарня"
    for minted in (vk_tokens[0], vk_tokens[-1]):
        assert minted["user_id"] == VK_USER_2 and minted["device_id"]
        assert users_get(sandbox, minted["access_token"]).json()["response"][0]["id"] == VK_USER_2
    assert control.stats()["grants"] == {"evotor": 500, "vk": 500}


def test_mint_handles_the_maximum_batch(control):
    tokens = control.mint_tokens("vk", count=20000)["tokens"]
    assert len({t["access_token"] for t in tokens}) == 20000


def test_minted_cloud_tokens_have_no_refresh_token_and_never_expire(sandbox, control):
    minted = control.mint_tokens("evotor", kind="cloud")["tokens"][0]
    assert (minted["refresh_token"], minted["expires_in"]) == (None, None)
    assert control.expire("evotor") == {"affected": 0}
    assert stores(sandbox, minted["access_token"]).status_code == 200


def test_mint_refuses_unknown_accounts_and_kinds(control):
    for kwargs in ({"account_id": "01-999999999999999"}, {"kind": "nonsense"}):
        with pytest.raises(SandboxControlError):
            control.mint_tokens("evotor", **kwargs)
    with pytest.raises(SandboxControlError):
        control.mint_tokens("vk", kind="cloud")


# ----- stats -----

def test_stats_count_requests_per_target(sandbox, control):
    token = control.mint_tokens("evotor")["tokens"][0]["access_token"]
    control.set_fault("evotor-api", status=503, count=1)
    stores(sandbox, token)
    stores(sandbox, token)
    users_get(sandbox, None)
    evotor_token(sandbox, {"grant_type": "refresh_token"})
    vk_refresh(sandbox, "rt", "device")
    assert control.stats()["requests"] == {"evotor-api": 2, "evotor-oauth": 1, "vk-api": 1, "vk-id": 1}


def test_in_flight_max_reflects_concurrent_requests(sandbox, control):
    token = control.mint_tokens("evotor")["tokens"][0]["access_token"]
    control.set_fault("evotor-api", latency_ms=1000)
    clients = 8
    barrier = threading.Barrier(clients)

    def call(_: int) -> int:
        barrier.wait()
        return stores(sandbox, token).status_code

    with ThreadPoolExecutor(clients) as pool:
        assert list(pool.map(call, range(clients))) == [200] * clients
    stats = control.stats()
    assert stats["in_flight_max"]["evotor-api"] == clients
    assert stats["in_flight_max"]["vk-api"] == 0


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


# ----- the control API itself -----

def test_reset_forgets_grants_faults_and_counters(sandbox, control):
    token = control.mint_tokens("evotor")["tokens"][0]["access_token"]
    control.set_fault("vk-api", vk_error=10)
    control.configure(code_ttl=5)
    stores(sandbox, token)
    control.reset()
    assert stores(sandbox, token).status_code == 401
    assert control.faults() == {"faults": {}}
    assert control.config() == {"vk_access_ttl": 3600, "evotor_access_ttl": 604799, "code_ttl": 600}
    assert control.stats()["requests"]["evotor-api"] == 1, "only the request after the reset"


def test_control_refuses_bad_requests_with_a_clear_error(control):
    with pytest.raises(SandboxControlError) as refused:
        control.revoke("evotor", mode="banned")
    assert refused.value.status == 400
    assert "mode" in str(refused.value)
    with pytest.raises(SandboxControlError):
        control.configure(nonsense=1)
