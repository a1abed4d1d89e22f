"""Health checks end to end against the sandbox: the one check path, write-back, refresh, cycles.

Longer than 300 lines because these behaviours share one set of fixtures and helpers and read as
one story, section by section."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from connhub.connections import check_now
from connhub.db import execute_write
from connhub.health import (
    CheckTarget,
    Outcome,
    apply_results,
    beat,
    check_connection,
    checker_status,
    claim_due,
    refresh_tokens,
    run_cycle,
)
from connhub.models import CheckRecord, Connection, Status, utcnow
from connhub.oauth import connect_with_token
from connhub.runtime import Runtime
from tests.support.connect import connect, make_user


def row(rt, connection_id) -> Connection:
    with rt.sessions() as session:
        return session.get(Connection, connection_id)


def make_due(rt, *ids: int) -> None:
    with rt.sessions() as session:
        query = update(Connection).values(next_check_at=utcnow() - timedelta(seconds=1))
        if ids:
            query = query.where(Connection.id.in_(ids))
        session.execute(query)
        session.commit()


def target(rt, connection_id) -> CheckTarget:
    return CheckTarget.of(row(rt, connection_id))


# ----------------------------------------------------------------------------- one check

def test_check_now_records_a_manual_check_and_returns_the_fresh_card(rt, alice):
    connection_id = connect(rt, alice, "evotor")
    view = check_now(rt, user_id=alice.id, connection_id=connection_id)
    assert view.status is Status.ONLINE and view.details == "Чайная" and view.last_latency_ms is not None
    with rt.sessions() as session:
        sources = session.scalars(select(CheckRecord.source).where(CheckRecord.connection_id == connection_id)
                                  .order_by(CheckRecord.id)).all()
    assert sources == ["connect", "manual"]


def test_a_check_finding_the_account_as_stored_moves_only_its_times_and_one_finding_it_changed_rewrites_it(
        rt, alice):
    connection_id = connect(rt, alice, "evotor")
    stored = row(rt, connection_id)
    check_now(rt, user_id=alice.id, connection_id=connection_id)  # the account as stored
    same = row(rt, connection_id)
    assert (same.display_name, same.profile) == (stored.display_name, stored.profile)
    assert same.last_success_at is not None and same.last_success_at > stored.last_success_at
    with rt.sessions() as session:  # the stored account no longer matches the provider's
        session.execute(update(Connection).where(Connection.id == connection_id)
                        .values(display_name="Старое имя", profile={}))
        session.commit()
    check_now(rt, user_id=alice.id, connection_id=connection_id)
    rewritten = row(rt, connection_id)
    assert (rewritten.display_name, rewritten.profile) == (stored.display_name, stored.profile)


def test_check_now_refuses_another_users_connection(rt, alice, bob):
    connection_id = connect(rt, alice, "evotor")
    before = row(rt, connection_id)
    assert check_now(rt, user_id=bob.id, connection_id=connection_id) is None
    assert row(rt, connection_id).last_checked_at == before.last_checked_at


def test_a_revoked_token_shows_reconnect_with_the_providers_reason(rt, alice, sandbox_control):
    connection_id = connect(rt, alice, "vk")
    sandbox_control.revoke("vk")
    view = check_now(rt, user_id=alice.id, connection_id=connection_id)
    assert view.status is Status.RECONNECT
    assert view.status_reason == "ВКонтакте: доступ отозван или истёк — подключите заново"


def test_provider_trouble_turns_a_card_offline_only_on_the_third_failed_check(rt, alice, sandbox_control):
    connection_id = connect(rt, alice, "evotor")
    sandbox_control.set_fault("evotor-api", status=503)
    statuses = [check_now(rt, user_id=alice.id, connection_id=connection_id).status for _ in range(3)]
    assert statuses == [Status.ONLINE, Status.ONLINE, Status.OFFLINE]
    assert row(rt, connection_id).status_reason == "Эвотор недоступен (ошибка 503)"
    sandbox_control.clear_faults()
    statuses = [check_now(rt, user_id=alice.id, connection_id=connection_id).status for _ in range(2)]
    assert statuses == [Status.OFFLINE, Status.ONLINE]


def test_an_access_token_near_expiry_is_refreshed_before_the_check(rt, alice, sandbox_control):
    sandbox_control.configure(vk_access_ttl=60)  # inside the 5-minute refresh margin
    connection_id = connect(rt, alice, "vk")
    version = row(rt, connection_id).token_version
    view = check_now(rt, user_id=alice.id, connection_id=connection_id)
    assert view.status is Status.ONLINE
    assert sandbox_control.stats()["refreshes"]["vk"] == 1
    assert row(rt, connection_id).token_version == version + 1


def test_an_expired_vk_token_is_refreshed_and_retried_instead_of_killing_the_connection(rt, alice, sandbox_control):
    connection_id = connect(rt, alice, "vk")
    sandbox_control.expire("vk")
    view = check_now(rt, user_id=alice.id, connection_id=connection_id)
    assert view.status is Status.ONLINE
    assert sandbox_control.stats()["refreshes"]["vk"] == 1


def test_a_refresh_the_provider_refuses_asks_for_a_reconnect(rt, alice, sandbox_control):
    connection_id = connect(rt, alice, "vk")
    sandbox_control.revoke("vk")  # kills the refresh token too
    sandbox_control.expire("vk")
    assert check_now(rt, user_id=alice.id, connection_id=connection_id).status is Status.RECONNECT


def test_a_refresh_during_a_vk_id_outage_is_trouble_not_a_dead_token(rt, alice, sandbox_control):
    connection_id = connect(rt, alice, "vk")
    sandbox_control.expire("vk")
    sandbox_control.set_fault("vk-id", status=503)
    view = check_now(rt, user_id=alice.id, connection_id=connection_id)
    assert view.status is Status.ONLINE and view.consecutive_failures == 1


# ----------------------------------------------------------------------------- write-back

def test_a_result_for_tokens_replaced_meanwhile_is_dropped(rt, alice, sandbox_control):
    connection_id = connect(rt, alice, "vk")
    stale = target(rt, connection_id)
    sandbox_control.revoke("vk")
    old_result = check_connection(rt, stale)  # the old token is now rejected...
    assert old_result.outcome is Outcome.REJECTED
    connect(rt, alice, "vk")  # ...but the user reconnected while the check was in flight
    applied = apply_results(rt, [old_result], source="checker")
    assert (applied.written, applied.dropped) == (0, 1)
    assert row(rt, connection_id).status == Status.ONLINE


def test_a_result_for_a_connection_deleted_meanwhile_does_not_resurrect_it(rt, alice):
    from connhub.connections import delete_for_user

    connection_id = connect(rt, alice, "evotor")
    result = check_connection(rt, target(rt, connection_id))
    execute_write(rt.sessions, lambda session: delete_for_user(session, alice.id, connection_id))
    applied = apply_results(rt, [result], source="checker")
    assert (applied.written, applied.dropped) == (0, 1)
    assert row(rt, connection_id) is None


def test_results_written_one_after_another_both_count(rt, alice, sandbox_control):
    connection_id = connect(rt, alice, "evotor")
    sandbox_control.set_fault("evotor-api", status=503)
    first = check_connection(rt, target(rt, connection_id))
    second = check_connection(rt, target(rt, connection_id))
    apply_results(rt, [first], source="checker")
    apply_results(rt, [second], source="manual")
    assert row(rt, connection_id).consecutive_failures == 2  # both counted, neither overwrote the other


# ----------------------------------------------------------------------------- refresh races

def test_a_refresh_is_single_flight_across_threads(rt, alice, sandbox_control):
    connection_id = connect(rt, alice, "vk")
    seen = row(rt, connection_id).token_version
    provider = rt.providers.get("vk")
    barrier = threading.Barrier(8)

    def race(_):
        barrier.wait()
        return refresh_tokens(rt, provider, connection_id, seen)[1]

    with ThreadPoolExecutor(8) as pool:
        versions = set(pool.map(race, range(8)))
    assert versions == {seen + 1}
    assert sandbox_control.stats()["refreshes"]["vk"] == 1
    assert check_now(rt, user_id=alice.id, connection_id=connection_id).status is Status.ONLINE


def _refresh_in_another_process(database_url, key, tmp_path, sandbox_env, connection_id, seen, barrier):
    from connhub.runtime import load_settings

    settings = load_settings(_env_file=None, DATABASE_URL=database_url, CONNHUB_SECRET_KEY=key,
                             CONNHUB_DATA_DIR=tmp_path, **sandbox_env)
    rt = Runtime.from_settings(settings)
    try:
        barrier.wait()
        return refresh_tokens(rt, rt.providers.get("vk"), connection_id, seen)[1]
    finally:
        rt.close()


def assert_refresh_single_flight_across_processes(rt, user, sandbox, sandbox_control, tmp_path):
    connection_id = connect(rt, user, "vk")
    seen = row(rt, connection_id).token_version
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(3)
        with context.Pool(3) as pool:
            args = [(rt.engine.url.render_as_string(hide_password=False),
                     rt.settings.CONNHUB_SECRET_KEY.get_secret_value(), tmp_path,
                     sandbox.env(),
                     connection_id, seen, barrier)] * 3
            versions = set(pool.starmap(_refresh_in_another_process, args))
    assert versions == {seen + 1}
    assert sandbox_control.stats()["refreshes"]["vk"] == 1
    assert check_now(rt, user_id=user.id, connection_id=connection_id).status is Status.ONLINE


def test_a_refresh_is_single_flight_across_processes(db_rt, sandbox, sandbox_control, tmp_path):
    assert_refresh_single_flight_across_processes(db_rt, make_user(db_rt, "alice"), sandbox, sandbox_control, tmp_path)


# ----------------------------------------------------------------------------- cycles

def seed_tokens(rt, sandbox_control, count: int) -> list[int]:
    """Evotor connections for `count` users through the real pasted-token path."""
    ids = []
    for n in range(count):
        user = make_user(rt, f"user{n}")
        token = sandbox_control.cloud_token()["token"] if n == 0 else \
            sandbox_control.mint_tokens("evotor", kind="cloud")["tokens"][0]["access_token"]
        result = connect_with_token(rt, user_id=user.id, provider="evotor", raw_token=token)
        assert result.ok, result.message
        ids.append(result.connection_id)
    return ids


def test_a_cycle_checks_only_due_connections_and_reschedules_them(rt, sandbox_control):
    ids = seed_tokens(rt, sandbox_control, 4)
    make_due(rt, ids[0], ids[1])
    stats = run_cycle(rt, worker_id="w1")
    assert stats.checked == 2 and stats.written == 2
    due_later = [row(rt, i).next_check_at for i in ids[:2]]
    assert all(at >= utcnow() + timedelta(seconds=29) for at in due_later)  # at least half the 60 s interval
    assert run_cycle(rt, worker_id="w1").checked == 0


def test_a_cycle_bounds_its_concurrency(rt, sandbox_control):
    ids = seed_tokens(rt, sandbox_control, 24)
    make_due(rt, *ids)
    sandbox_control.set_fault("evotor-api", latency_ms=150)
    stats = run_cycle(rt, worker_id="w1", concurrency=4)
    assert stats.written == 24
    in_flight = sandbox_control.stats()["in_flight_max"]["evotor-api"]
    assert 1 < in_flight <= 4


def assert_two_checkers_share_work_without_overlap(rt_a, rt_b, sandbox_control, ids):
    make_due(rt_a, *ids)
    sandbox_control.set_fault("evotor-api", latency_ms=30)
    before = sandbox_control.stats()["requests"]["evotor-api"]
    barrier = threading.Barrier(2)

    def cycle(args):
        rt, name = args
        barrier.wait()
        return run_cycle(rt, worker_id=name, concurrency=4)

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(cycle, [(rt_a, "checker-a"), (rt_b, "checker-b")])
    assert a.checked + b.checked == len(ids)
    assert sandbox_control.stats()["requests"]["evotor-api"] - before == len(ids)


def test_two_checkers_never_check_one_connection_twice(make_rt, database_url, sandbox_control):
    rt_a, rt_b = make_rt(DATABASE_URL=database_url), make_rt(DATABASE_URL=database_url)
    assert_two_checkers_share_work_without_overlap(rt_a, rt_b, sandbox_control, seed_tokens(rt_a, sandbox_control, 40))


@pytest.mark.postgres
def test_claims_skip_rows_another_checker_holds_on_postgresql(make_rt, pg_url, sandbox_control):
    rt = make_rt(DATABASE_URL=pg_url)
    ids = seed_tokens(rt, sandbox_control, 6)
    make_due(rt, *ids)
    first = claim_due(rt, worker_id="a", due_before=utcnow(), limit=4)
    second = claim_due(rt, worker_id="b", due_before=utcnow(), limit=10)
    assert len(first) == 4 and len(second) == 2
    assert not {t.id for t in first} & {t.id for t in second}


def test_when_no_provider_is_reachable_nothing_is_marked_and_checks_are_deferred(rt, sandbox_control):
    ids = seed_tokens(rt, sandbox_control, 3)
    make_due(rt, *ids)
    sandbox_control.set_fault("all", drop=True)
    stats = run_cycle(rt, worker_id="w1")
    assert stats.deferred == 3 and stats.written == 0
    for connection_id in ids:
        current = row(rt, connection_id)
        assert (current.status, current.consecutive_failures, current.lease_owner) == (Status.ONLINE, 0, None)
        assert current.next_check_at > utcnow()


def test_a_stop_request_mid_cycle_writes_in_flight_checks_and_releases_unstarted_claims(rt, sandbox_control,
                                                                                         monkeypatch):
    import connhub.health.check as health

    ids = seed_tokens(rt, sandbox_control, 20)
    make_due(rt, *ids)
    stop = threading.Event()
    real_check = health.check_connection

    def check_then_stop(rt_, target):  # the stop signal arrives while the first checks run
        stop.set()
        return real_check(rt_, target)

    monkeypatch.setattr(health, "check_connection", check_then_stop)
    stats = run_cycle(rt, worker_id="w1", stop=stop, concurrency=2)

    assert 1 <= stats.checked <= 2 and stats.written == stats.checked
    with rt.sessions() as session:
        rows = session.scalars(select(Connection)).all()
        checked = set(session.scalars(select(CheckRecord.connection_id).where(CheckRecord.source == "checker")))
    assert [r.id for r in rows if r.lease_owner is not None] == []
    assert len(checked) == stats.checked
    deferred = [r for r in rows if r.id not in checked and r.next_check_at > utcnow()]
    assert len(deferred) == 8 - stats.checked  # the first claim took 4 x concurrency; the rest never started
    assert all(r.status == Status.ONLINE and r.consecutive_failures == 0 for r in deferred)


# ----------------------------------------------------------------------------- heartbeat

def test_the_heartbeat_goes_stale_after_two_intervals(rt):
    with rt.sessions() as session:
        assert checker_status(session, interval_seconds=60).stale
    beat(rt, checker_id="c1", started_at=utcnow())
    with rt.sessions() as session:
        fresh = checker_status(session, interval_seconds=60)
        later = checker_status(session, interval_seconds=60, now=utcnow() + timedelta(seconds=121))
    assert not fresh.stale and later.stale
    assert fresh.last_beat_at is not None
