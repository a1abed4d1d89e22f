"""Rows 3, 4 and 5 of issue 7: whatever a health endpoint sends, one check stays bounded.

Each test runs the real checker.py against the hostile server, on SQLite and on PostgreSQL.
Figures seen on the 2-core development machine are in the comments.
"""

from __future__ import annotations

import signal
import time

import pytest

from connhub.models import Status
from tests.reliability.hostile import huge_json_chunks, json_bytes
from tests.support.checker import connection, records, run_checker, seed, start_checker, wait_for_line

STORES = "/evotor-api/stores"
USERS_GET = "/vk-api/method/users.get"
GOOD_STORES = {"items": [{"id": "s-1", "name": "Чайная", "address": "Москва"}]}
GOOD_USER = {"response": [{"id": 1, "first_name": "Иван", "last_name": "Иванов"}]}


def test_a_64_mib_health_answer_is_provider_trouble_and_is_never_read_whole(hostile, hostile_rt):
    shop = seed(hostile_rt, "shop", "evotor")
    hostile.answer("GET", STORES, headers={"Content-Type": "application/json"}, content_length=False,
                   body=huge_json_chunks(64 << 20, prefix=b'{"items": [{"id": "s-1", "name": "', suffix=b'"}]}'))

    run = run_checker(hostile_rt, "--once")

    assert run.returncode == 0, run.log
    last = records(hostile_rt, shop)[-1]
    assert last.outcome == "trouble"
    assert "слишком большой ответ" in last.reason
    assert connection(hostile_rt, shop).display_name == "shop"  # nothing of the body was stored
    # Before the fix: 1.1 GB peak and an 8 MiB store name. After: about 75 MB.
    assert run.peak_rss_mb < 250, run.peak_rss_mb


def test_a_dripped_health_answer_ends_at_the_request_deadline(hostile, hostile_rt):
    shop = seed(hostile_rt, "shop", "evotor")
    body = json_bytes({"items": [{"id": "s-1", "name": "Ч" * 100}]})  # ~230 bytes: a minute at 4 bytes/s
    hostile.answer("GET", STORES, headers={"Content-Type": "application/json"}, body=body, drip=0.25)

    started = time.monotonic()
    run = run_checker(hostile_rt, "--once")  # HTTP_TIMEOUT_SECONDS=2
    elapsed = time.monotonic() - started

    assert run.returncode == 0, run.log
    last = records(hostile_rt, shop)[-1]
    assert last.outcome == "trouble"
    assert "не ответил вовремя" in last.reason
    # Before the fix the check read the whole body (about a minute) and succeeded. After: the check
    # ends at the 2 s deadline; the whole run, start-up included, takes about 3.5 s. Bound generous.
    assert elapsed < 30, elapsed


def test_sigterm_during_a_dripped_answer_stops_the_checker_within_the_deadline(hostile, hostile_rt):
    seed(hostile_rt, "shop", "evotor")
    body = json_bytes({"items": [{"id": "s-1", "name": "Ч" * 100}]})
    hostile.answer("GET", STORES, headers={"Content-Type": "application/json"}, body=body, drip=0.25)
    process = start_checker(hostile_rt)
    try:
        wait_for_line(process, "started")
        hostile.wait_for_request(STORES)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=90)
        stopped_in = time.monotonic() - started
    finally:
        process.kill()
    assert process.returncode == 0
    # Before the fix: it waited for the drip to end (about a minute). After: under 2 s. Bound generous.
    assert stopped_in < 20, stopped_in


@pytest.mark.parametrize("provider, path, good", [("evotor", STORES, GOOD_STORES), ("vk", USERS_GET, GOOD_USER)])
def test_a_health_check_redirected_to_another_origin_is_trouble_and_not_followed(
        hostile, elsewhere, hostile_rt, provider, path, good):
    account = seed(hostile_rt, "someone", provider)
    with hostile_rt.sessions() as session:  # two failures already: the next one paints it red
        from connhub.models import Connection
        session.get(Connection, account).consecutive_failures = 2
        session.commit()
    elsewhere.answer("GET", "/anything", json_body=good)
    hostile.answer("GET", path, status=302, headers={"Location": f"{elsewhere.base_url}/anything"})

    run = run_checker(hostile_rt, "--once")

    assert run.returncode == 0, run.log
    last = records(hostile_rt, account)[-1]
    assert last.outcome == "trouble"
    assert connection(hostile_rt, account).status == Status.OFFLINE
    assert elsewhere.requests_to("/anything") == []  # the token never left for the other origin
