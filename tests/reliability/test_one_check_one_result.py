"""Rows 1, 2 and 10 of issue 7: one connection's bad answer is that connection's result, never the batch's.

The real checker.py runs one cycle against the hostile server, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from sqlalchemy import select

from connhub.health.policy import CheckResult
from connhub.health.results import apply_results
from connhub.models import CheckSource, Connection, Outcome, Status, utcnow
from connhub.oauth import begin_authorization, complete_authorization, connect_with_token
from connhub.providers import Account
from tests.support.checker import connection, records, run_checker, seed
from tests.support.connect import make_user

STORES = "/evotor-api/stores"
USERS_GET = "/vk-api/method/users.get"
VK_TOKEN = "/vk-id/oauth2/auth"
GOOD_STORES = {"items": [{"id": "s-1", "name": "Чайная", "address": "Москва"}]}
GOOD_USER = {"response": [{"id": 1, "first_name": "Иван", "last_name": "Иванов"}]}
EVOTOR_TOKEN = "f46b89a5-8e80-4591-b0aa-94551790444b"


def test_an_infinite_token_lifetime_is_unknown_and_every_other_result_is_written(hostile, hostile_rt):
    stale = seed(hostile_rt, "stale", "vk", refresh=True, expires_at=utcnow() + timedelta(seconds=30))
    others = [seed(hostile_rt, f"shop{n}", "evotor") for n in range(3)]
    hostile.answer("POST", VK_TOKEN, json_body={"access_token": "fresh", "refresh_token": "rotated",
                                                "expires_in": float("inf"), "token_type": "Bearer", "user_id": 1})
    hostile.answer("GET", USERS_GET, json_body=GOOD_USER)
    hostile.answer("GET", STORES, json_body=GOOD_STORES)

    run = run_checker(hostile_rt, "--once")

    assert run.returncode == 0, run.log
    assert "cycle: checked=4 written=4" in run.log
    refreshed = connection(hostile_rt, stale)
    assert refreshed.token_version == 2  # the refresh was stored...
    assert refreshed.token_expires_at is None  # ...with its lifetime treated as unknown
    assert hostile_rt.cipher.open(refreshed.refresh_token_sealed).reveal() == "rotated"
    assert records(hostile_rt, stale)[-1].outcome == "ok"
    for shop in [stale, *others]:
        assert connection(hostile_rt, shop).lease_owner is None  # no claim left to wait out
        assert records(hostile_rt, shop)[-1].outcome == "ok"


def test_300_character_names_are_cleaned_and_cut_on_check_and_every_result_is_written(hostile, hostile_rt):
    shop, person = seed(hostile_rt, "shop", "evotor"), seed(hostile_rt, "person", "vk")
    bystanders = [seed(hostile_rt, f"bystander{n}", "evotor") for n in range(3)]
    long_name = "Пекарня\n\x1b[31m" + "Я" * 300
    hostile.answer("GET", STORES, json_body={"items": [{"id": "s" * 100, "name": long_name, "address": "А" * 1000}]})
    hostile.answer("GET", USERS_GET, json_body={"response": [{"id": 7, "first_name": "И" * 300,
                                                             "last_name": "\n\n    ```code"}]})

    run = run_checker(hostile_rt, "--once")

    assert run.returncode == 0, run.log
    assert "cycle: checked=5 written=5" in run.log
    stored = connection(hostile_rt, shop)
    assert len(stored.display_name) == 255 and stored.display_name.startswith("Пекарня [31mЯЯЯ")
    assert "\n" not in stored.display_name and "\x1b" not in stored.display_name
    assert len(stored.account_id) <= 64
    assert len(stored.profile["stores"][0]["address"]) <= 255
    assert len(connection(hostile_rt, person).display_name) == 255
    assert "\n" not in str(connection(hostile_rt, person).profile)
    for row in (shop, person, *bystanders):
        assert connection(hostile_rt, row).status == Status.ONLINE
        assert connection(hostile_rt, row).lease_owner is None


def test_connecting_an_account_with_a_300_character_name_stores_it_cut(hostile, hostile_rt):
    owner = make_user(hostile_rt, "owner")
    hostile.answer("GET", STORES, json_body={"items": [{"id": "s-1", "name": "Магазин " + "Ж" * 300}]})
    result = connect_with_token(hostile_rt, user_id=owner.id, provider="evotor", raw_token=EVOTOR_TOKEN)
    assert result.ok, result.message
    assert len(connection(hostile_rt, result.connection_id).display_name) == 255

    hostile.answer("GET", STORES, json_body={"items": [{"id": "s-1", "name": "Склад\n" + "Щ" * 400}]})
    again = connect_with_token(hostile_rt, user_id=owner.id, provider="evotor", raw_token=EVOTOR_TOKEN)
    assert again.ok and again.reconnected, again.message
    assert connection(hostile_rt, result.connection_id).display_name.startswith("Склад ЩЩ")


def test_a_batch_with_one_unwritable_result_writes_all_the_others(hostile_rt):
    rows = [seed(hostile_rt, f"shop{n}", "evotor") for n in range(4)]
    now = utcnow()
    # A latency PostgreSQL's INTEGER cannot hold (NumericValueOutOfRange); SQLite stores it.
    results = [CheckResult(row, 1, Outcome.OK, "", "ok", now, 12, account=Account("s-1", f"shop{n}", {}))
               for n, row in enumerate(rows)]
    results[1] = CheckResult(rows[1], 1, Outcome.OK, "", "ok", now, 2**40, account=Account("s-1", "shop1", {}))
    with hostile_rt.sessions() as session:  # leased, as in a cycle
        for row in session.scalars(select(Connection)):
            row.lease_owner, row.lease_expires_at = "checker", now + timedelta(minutes=5)
        session.commit()

    applied = apply_results(hostile_rt, results, source=CheckSource.CHECKER, rng=random.Random(1))

    assert applied.written == 4
    for row in rows:
        assert connection(hostile_rt, row).lease_owner is None
    for row in (rows[0], rows[2], rows[3]):
        assert records(hostile_rt, row)[-1].outcome == "ok"
    if hostile_rt.engine.dialect.name == "postgresql":  # the unwritable one: trouble, said plainly
        assert records(hostile_rt, rows[1])[-1].outcome == "trouble"
        assert records(hostile_rt, rows[1])[-1].reason.startswith("Проверка не удалась (1 из 3): Результат")


def test_a_2_kb_token_endpoint_error_with_newlines_reaches_neither_log_nor_page_whole(hostile, hostile_rt, caplog):
    forged = "bad\n2026-12-02 04:00:00 ERROR connhub: FORGED LINE\n" + "x" * 2048
    hostile.answer("POST", VK_TOKEN, status=400, json_body={"error": forged, "error_description": forged})
    stale = seed(hostile_rt, "stale", "vk", refresh=True, expires_at=utcnow() + timedelta(seconds=30))

    run = run_checker(hostile_rt, "--once")

    assert run.returncode == 0, run.log
    assert "FORGED LINE" not in run.log.replace("FORGED_LINE", "")
    reason = records(hostile_rt, stale)[-1].reason
    assert "\n" not in reason and len(reason) < 400
    # The OAuth callback path: the page's message and the app's log line.
    owner = make_user(hostile_rt, "owner")
    url = begin_authorization(hostile_rt, user_id=owner.id, provider="vk")
    state = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))["state"]
    with caplog.at_level(logging.INFO):
        result = complete_authorization(hostile_rt, user_id=owner.id,
                                        params={"state": state, "code": "c", "device_id": "d"})
    assert not result.ok
    assert "\n" not in result.message and len(result.message) < 400
    assert caplog.records and all("\n" not in record.getMessage() and len(record.getMessage()) < 500
                                  for record in caplog.records)


def test_an_unexpected_error_in_one_check_is_that_connections_trouble_and_the_cycle_goes_on(
        hostile, hostile_rt, monkeypatch, caplog):
    from connhub.health.cycle import run_cycle

    broken, fine = seed(hostile_rt, "broken", "vk"), seed(hostile_rt, "fine", "evotor")
    hostile.answer("GET", STORES, json_body=GOOD_STORES)
    vk = hostile_rt.providers.get("vk")

    def explode(_token, *_known):
        raise ZeroDivisionError("provider said something we never expected\nsecond line")

    monkeypatch.setattr(vk, "fetch_account", explode)
    monkeypatch.setattr(vk, "fetch_account_knowing", explode)  # the check's call (rights probed only when old)
    with caplog.at_level(logging.ERROR, logger="connhub.health"):
        stats = run_cycle(hostile_rt, worker_id="test", rng=random.Random(1))

    assert stats.written == 2
    assert records(hostile_rt, fine)[-1].outcome == "ok"
    assert records(hostile_rt, broken)[-1].outcome == "trouble"
    assert connection(hostile_rt, broken).lease_owner is None
    assert any(f"connection={broken}" in r.getMessage() and "\n" not in r.getMessage() for r in caplog.records)
