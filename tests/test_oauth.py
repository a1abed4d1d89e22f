"""Connecting accounts: flows in the database, every bad callback, reconnect in place, pasted tokens."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from connhub.health import Outcome, regular_check_at
from connhub.models import AuthMethod, CheckRecord, Connection, OAuthFlow, Status, utcnow
from connhub.oauth import begin_authorization, complete_authorization, connect_with_token
from tests.support.connect import connect
from tests.support.consent import consent


def count_connections(rt) -> int:
    with rt.sessions() as session:
        return session.scalar(select(func.count()).select_from(Connection))


def only_flow(rt) -> OAuthFlow:
    with rt.sessions() as session:
        return session.scalars(select(OAuthFlow)).one()


def test_a_flow_is_bound_to_the_user_and_provider_and_expires_in_ten_minutes(rt, alice):
    url = begin_authorization(rt, user_id=alice.id, provider="vk")
    flow = only_flow(rt)
    assert (flow.user_id, flow.provider, flow.consumed_at) == (alice.id, "vk", None)
    assert f"state={flow.state}" in url
    assert timedelta(minutes=9) < flow.expires_at - utcnow() <= timedelta(minutes=10)
    assert rt.cipher.open(flow.code_verifier_sealed).reveal() not in flow.code_verifier_sealed


@pytest.mark.parametrize(("provider", "details"), [("evotor", "Чайная"), ("vk", "Иван Иванов")])
def test_a_successful_callback_stores_an_online_connection_with_its_details(rt, alice, provider, details):
    params = consent(begin_authorization(rt, user_id=alice.id, provider=provider))
    result = complete_authorization(rt, user_id=alice.id, params=params)
    assert result.ok and not result.reconnected
    with rt.sessions() as session:
        row = session.get(Connection, result.connection_id)
    assert row.status == Status.ONLINE and row.is_online
    assert row.display_name == details
    assert utcnow() - row.last_checked_at < timedelta(seconds=30)
    assert row.next_check_at == regular_check_at(row.id, row.last_checked_at, rt.settings.HEALTH_CHECK_INTERVAL_SECONDS)
    assert row.auth_method == AuthMethod.OAUTH


def test_a_state_works_once(rt, alice):
    params = consent(begin_authorization(rt, user_id=alice.id, provider="evotor"))
    assert complete_authorization(rt, user_id=alice.id, params=params).ok
    replay = complete_authorization(rt, user_id=alice.id, params=params)
    assert not replay.ok
    assert replay.message == "Эта ссылка подключения уже использована. Если сервис не подключился, начните заново."
    assert count_connections(rt) == 1


def test_an_expired_state_is_refused_and_stores_nothing(rt, alice):
    params = consent(begin_authorization(rt, user_id=alice.id, provider="evotor"))
    with rt.sessions() as session:
        session.execute(update(OAuthFlow).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    result = complete_authorization(rt, user_id=alice.id, params=params)
    assert not result.ok and "устарела" in result.message
    assert count_connections(rt) == 0


def test_an_unknown_state_is_refused(rt, alice):
    result = complete_authorization(rt, user_id=alice.id, params={"code": "c", "state": "forged"})
    assert not result.ok and result.message == "Ссылка подключения не найдена. Начните подключение заново."
    assert count_connections(rt) == 0


def test_another_users_state_is_refused_and_stays_usable_by_its_owner(rt, alice, bob):
    params = consent(begin_authorization(rt, user_id=alice.id, provider="vk"))
    stolen = complete_authorization(rt, user_id=bob.id, params=params)
    assert not stolen.ok and "другому пользователю" in stolen.message
    assert count_connections(rt) == 0
    assert complete_authorization(rt, user_id=alice.id, params=params).ok


@pytest.mark.parametrize("params", [{}, {"state": "s"}, {"code": "c"}])
def test_a_callback_without_code_or_state_is_refused(rt, alice, params):
    result = complete_authorization(rt, user_id=alice.id, params=params)
    assert not result.ok and "нет кода" in result.message


def test_a_denied_consent_stores_nothing_and_burns_the_flow(rt, alice):
    params = consent(begin_authorization(rt, user_id=alice.id, provider="vk"), decision="deny")
    assert params["error"] == "access_denied"
    result = complete_authorization(rt, user_id=alice.id, params=params)
    assert not result.ok
    assert result.message == "Вы отказались от подключения — ничего не сохранено."
    assert result.provider == "vk"
    assert count_connections(rt) == 0
    assert only_flow(rt).consumed_at is not None


def test_a_failed_token_exchange_stores_nothing(rt, alice, sandbox_control):
    params = consent(begin_authorization(rt, user_id=alice.id, provider="evotor"))
    sandbox_control.set_fault("evotor-oauth", status=503)
    result = complete_authorization(rt, user_id=alice.id, params=params)
    assert not result.ok and result.message.startswith("Не удалось подключить Эвотор")
    assert count_connections(rt) == 0


def test_a_tampered_code_stores_nothing(rt, alice):
    params = consent(begin_authorization(rt, user_id=alice.id, provider="vk"))
    result = complete_authorization(rt, user_id=alice.id, params={**params, "code": "tampered"})
    assert not result.ok
    assert count_connections(rt) == 0


def test_reconnecting_replaces_the_tokens_in_place_keeping_id_and_history(rt, alice, sandbox_control):
    first = connect(rt, alice, "vk")
    with rt.sessions() as session:
        before = session.get(Connection, first)
        old_token = rt.cipher.open(before.access_token_sealed)
        session.execute(update(Connection).values(status=Status.RECONNECT, status_reason="отозван"))
        session.commit()
    second = connect(rt, alice, "vk", account="100200300")
    assert second == first
    with rt.sessions() as session:
        after = session.get(Connection, first)
        history = session.scalars(select(CheckRecord).where(CheckRecord.connection_id == first)).all()
    assert rt.cipher.open(after.access_token_sealed) != old_token
    assert after.token_version == before.token_version + 1
    assert (after.status, after.status_reason, after.display_name) == (Status.ONLINE, "", "Мария Петрова")
    assert [record.source for record in history] == ["connect", "connect"]
    assert count_connections(rt) == 1


def test_a_good_pasted_token_is_checked_live_and_stored(rt, alice, sandbox_control):
    token = sandbox_control.cloud_token()["token"]
    result = connect_with_token(rt, user_id=alice.id, provider="evotor", raw_token=f" {token} ")
    assert result.ok and result.message == "Эвотор подключён: Чайная"
    with rt.sessions() as session:
        row = session.get(Connection, result.connection_id)
    assert row.auth_method == AuthMethod.TOKEN and row.refresh_token_sealed is None
    assert rt.cipher.open(row.access_token_sealed).reveal() == token


def test_a_pasted_token_the_provider_rejects_is_not_stored(rt, alice, sandbox_control):
    token = sandbox_control.cloud_token()["token"]
    sandbox_control.revoke("evotor", token=token)
    result = connect_with_token(rt, user_id=alice.id, provider="evotor", raw_token=token)
    assert not result.ok and result.message.startswith("Эвотор не принял этот токен")
    assert count_connections(rt) == 0


def test_a_pasted_token_that_cannot_be_checked_now_is_not_stored(rt, alice, sandbox_control):
    token = sandbox_control.cloud_token()["token"]
    sandbox_control.set_fault("evotor-api", status=503)
    result = connect_with_token(rt, user_id=alice.id, provider="evotor", raw_token=token)
    assert not result.ok and "Попробуйте позже" in result.message
    assert count_connections(rt) == 0


def test_a_malformed_pasted_token_is_refused_with_a_hint(rt, alice):
    result = connect_with_token(rt, user_id=alice.id, provider="evotor", raw_token="hello")
    assert not result.ok and "не похоже на токен" in result.message
    assert count_connections(rt) == 0


def test_the_first_history_entry_records_the_connect(rt, alice):
    connection_id = connect(rt, alice, "evotor")
    with rt.sessions() as session:
        record = session.scalars(select(CheckRecord).where(CheckRecord.connection_id == connection_id)).one()
    assert (record.source, record.outcome, record.status_after) == ("connect", Outcome.OK, Status.ONLINE)
