"""Evotor image look-ups spread under Evotor's documented rate limit (429 / X-RateLimit-Reset), and
their count in the sync run's figures, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import requests

from connhub.crypto import Secret
from connhub.models import SyncRunState
from connhub.ports.errors import ProviderError
from connhub.providers.evotor.images import EvotorImages
from connhub.providers.evotor.pacing import MAX_WAIT_SECONDS, RETRIES, Pacer
from connhub.providers.evotor.sandbox.constants import EVOTOR_ACCOUNTS
from connhub.sandbox import SandboxControl
from connhub.sync.runs import Trigger
from connhub.sync.service import run_now
from tests.support.connect import make_user
from tests.support.images import give_images, ready_with_evotor_images

PRODUCT = "p-sencha"


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def images(sandbox, evotor_catalog):
    token = SandboxControl(sandbox.base_url).mint_tokens("evotor")["tokens"][0]["access_token"]
    give_images(evotor_catalog, PRODUCT)
    fake = FakeTime()
    api = EvotorImages(f"{sandbox.base_url}/evotor/api", Secret(token), timeout=10,
                       pacer=Pacer(sleep=fake.sleep, clock=fake.clock))
    return api, fake


def first_store() -> str:
    """The store the catalog control defaults to: the first demo account's first store."""
    return str(next(iter(EVOTOR_ACCOUNTS.values()))[0]["id"])


def test_a_429_is_waited_out_for_its_reset_and_the_look_up_asked_again(images, evotor_catalog):
    api, fake = images
    evotor_catalog(rate_limit=2, reset_seconds=3)
    lists_before = evotor_catalog()["image_lists"]
    found = api.image(first_store(), PRODUCT)
    assert found is not None and found.url
    assert fake.slept == [3.0, 3.0] and api.pacer.waits == 2 and api.pacer.waited == 6.0
    assert evotor_catalog()["image_lists"] - lists_before == 3


def test_past_the_retries_the_429_is_reported_with_its_reset(images, evotor_catalog):
    api, fake = images
    evotor_catalog(rate_limit=RETRIES + 5, reset_seconds=2)
    with pytest.raises(ProviderError) as raised:
        api.image(first_store(), PRODUCT)
    assert raised.value.code == "http_429" and raised.value.retry_after == 2.0
    assert fake.slept == [2.0] * RETRIES


def _answer(status: int, headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    return response


def test_an_answer_with_nothing_remaining_makes_the_next_call_wait_for_the_reset_capped():
    fake = FakeTime()
    pacer = Pacer(sleep=fake.sleep, clock=fake.clock)
    answers = iter([_answer(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4"}),
                    _answer(200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "999"}),
                    _answer(200, {"X-RateLimit-Remaining": "7"}), _answer(200, {})])
    for _ in range(4):
        pacer.call(lambda: next(answers))
    assert fake.slept == [4.0, MAX_WAIT_SECONDS]  # nothing waited after «7 left»


@pytest.mark.parametrize("rate_limited", [0, 1])
def test_the_runs_figures_count_the_image_look_ups_and_a_429_is_waited_out(db_rt, vk_goods, evotor_catalog,
                                                                          rate_limited):
    user = make_user(db_rt, "alice")
    ready_with_evotor_images(db_rt, user, vk_goods)
    give_images(evotor_catalog, "p-sencha", "p-assam")
    evotor_catalog(rate_limit=rate_limited, reset_seconds=1)
    lines: list[str] = []
    _run, outcome = run_now(db_rt, user.id, trigger=Trigger.CLI, triggered_by="test", say=lines.append)
    assert outcome.state == SyncRunState.FINISHED and outcome.counts["added"] == 4
    assert outcome.plan["image_lookups"] == 4 and outcome.plan["image_downloads"] == 2
    assert "Фото товаров: 4 запроса списка изображений, 2 файла скачано" in lines
    assert not any("не получено" in line for line in lines)  # the 429 cost no photo
    assert evotor_catalog()["image_lists"] == 4 + rate_limited
