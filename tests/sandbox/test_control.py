"""The control API steering the providers: faults, minted tokens, stats."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from connhub.sandbox import SandboxControlError
from tests.sandbox.helpers import (
    EVOTOR_USER_2,
    VK_USER_2,
    evotor_token,
    get,
    stores,
    users_get,
    vk_error,
    vk_refresh,
)

pytestmark = pytest.mark.timeout(60)


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
    assert control.stats()["requests"] == {"evotor-api": 2, "evotor-images": 0, "evotor-oauth": 1, "vk-api": 1,
                                           "vk-id": 1}


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


