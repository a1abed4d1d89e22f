"""Driving the sandbox over real HTTP: a browser on the consent screen, a client on the token endpoints."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

from connhub.providers.evotor.sandbox import EVOTOR_CLIENT_ID, EVOTOR_CLIENT_SECRET
from connhub.providers.vk.sandbox import VK_CLIENT_ID

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10
EVOTOR_USER = "01-000000000000001"
EVOTOR_USER_2 = "01-000000000000002"
VK_USER = 743784474
VK_USER_2 = 100200300
CALLBACK = "http://localhost:8501/oauth_callback"


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


