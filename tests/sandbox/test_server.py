"""The sandbox server itself, over real HTTP: health, index, routing, the process, the control API."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest
import requests

from connhub.runtime import emulations
from connhub.sandbox import SandboxControlError, SandboxServer
from tests.sandbox.helpers import (
    REPO_ROOT,
    TIMEOUT,
    get,
    stores,
)

pytestmark = pytest.mark.timeout(60)


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
    server = SandboxServer(emulations()).start()
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
