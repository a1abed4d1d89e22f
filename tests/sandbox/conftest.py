"""One sandbox per test module, reset before every test."""

from __future__ import annotations

import pytest

from connhub.runtime import emulations
from connhub.sandbox import SandboxControl, SandboxServer


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(emulations(), port=0) as server:
        yield server


@pytest.fixture(scope="module")
def control(sandbox):
    client = SandboxControl(sandbox.base_url)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _fresh_state(control):
    control.reset()


