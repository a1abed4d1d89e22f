"""«Обзор» in the app, for two OIDC users (claims as the identity provider sends them): alice, an
administrator by ADMIN_EMAILS, and bob, who is not. Every way in that bob tries shows the refusal
and none of anyone's data; alice sees everyone's and acts on bob's behalf as herself."""

from __future__ import annotations

from sqlalchemy import select
from streamlit.util import calc_hash

from connhub.models import CheckRecord, CheckSource, Status, SyncConfig, SyncRun, utcnow
from pages.ui.admin import OPEN_CONNECTION, OPEN_SYNC
from tests.pages.helpers import page_text, titles
from tests.support.connect import add_connection, connect

REFUSAL = "Эта страница только для администраторов connhub."


def table_text(at) -> str:
    return "\n".join(frame.value.to_csv() for frame in at.dataframe)


def open_overview(at, query_params=None):
    for key, value in (query_params or {}).items():
        at.query_params[key] = value
    at._page_hash = calc_hash("overview")
    at.run()
    return at


def enable_sync(rt, user):
    with rt.sessions() as session:
        session.add(SyncConfig(user_id=user.id, evotor_store_id="s1", evotor_store_name="Чайная", vk_group_id=7,
                               vk_group_name="Чай", enabled=True, confirmed_at=utcnow(), confirmed_by=user.email))
        session.commit()


def test_an_administrator_sees_every_users_connections(open_app, rt, alice, bob, sandbox_control):
    add_connection(rt, sandbox_control, bob, "vk", status=Status.RECONNECT, reason="Токен отозван")
    at = open_overview(open_app(alice))
    assert not at.exception
    assert "Обзор" in titles(at)
    assert "bob@example.test" in table_text(at) and "Токен отозван" in table_text(at)
    assert REFUSAL not in page_text(at)
    assert [metric.label for metric in at.metric][:5] == ["В сети", "Нет связи", "Переподключить",
                                                          "Не проверялось", "Токен не читается"]


def test_a_non_administrator_opening_the_url_gets_the_refusal_and_no_data(open_app, rt, alice, bob, sandbox_control):
    add_connection(rt, sandbox_control, alice, "evotor")
    at = open_overview(open_app(bob))
    assert not at.exception
    assert at.error[0].value == REFUSAL
    assert "alice@example.test" not in page_text(at) and not at.metric and not at.dataframe


def test_query_parameters_and_forged_session_state_do_not_let_a_non_administrator_in(open_app, rt, alice, bob,
                                                                                   sandbox_control):
    alices = add_connection(rt, sandbox_control, alice, "evotor")
    enable_sync(rt, alice)
    at = open_app(bob, session_state={OPEN_CONNECTION: alices, OPEN_SYNC: alice.id, "admin_problems": True})
    at = open_overview(at, {"admin": "1", "is_admin": "true", "user_id": str(alice.id),
                            "connection_id": str(alices), "groups": "connhub-admins"})
    assert at.error[0].value == REFUSAL
    assert not at.button and "Чайная" not in page_text(at)
    with rt.sessions() as session:
        assert session.scalars(select(SyncRun)).all() == []
        assert session.scalars(select(CheckRecord)).all() == []


def test_the_group_claim_lets_in_only_members_of_the_admin_group(open_app, rt, carol):
    member = open_overview(open_app(carol, claims={"groups": ["staff", "connhub-admins"]}))
    assert REFUSAL not in page_text(member) and "Обзор" in titles(member)
    other = open_overview(open_app(carol, claims={"groups": ["staff"]}))
    assert other.error[0].value == REFUSAL


def test_an_unverified_admin_email_is_not_enough(open_app, alice):
    at = open_overview(open_app(alice, claims={"email_verified": False}))
    assert at.error[0].value == REFUSAL


def test_the_local_operator_administers(open_app, server_address, rt):
    server_address("127.0.0.1")
    at = open_overview(open_app(auth=False))
    assert not at.exception and REFUSAL not in page_text(at) and "Обзор" in titles(at)


def test_an_administrator_checks_a_users_connection_on_their_behalf(open_app, rt, alice, bob):
    bobs = connect(rt, bob, "evotor")
    at = open_overview(open_app(alice))
    at.selectbox(key=OPEN_CONNECTION).set_value(bobs).run()
    assert "только просмотр" in page_text(at)
    at.button(key="admin-check-now").click().run()
    assert not at.exception
    assert "Проверка выполнена\\." in [element.value for element in at.success]  # escaped Markdown
    with rt.sessions() as session:
        assert CheckSource.MANUAL in session.scalars(select(CheckRecord.source)
                                                     .where(CheckRecord.connection_id == bobs)).all()


def test_an_administrator_syncs_a_user_on_their_behalf_recorded_as_the_administrator(open_app, rt, alice, bob):
    enable_sync(rt, bob)
    at = open_overview(open_app(alice))
    at.selectbox(key=OPEN_SYNC).set_value(bob.id).run()
    at.button(key="admin-sync-now").click().run()
    assert not at.exception
    with rt.sessions() as session:
        run = session.scalars(select(SyncRun)).one()
    assert run.user_id == bob.id and run.triggered_by == "администратор alice@example.test"
