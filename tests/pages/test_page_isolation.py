"""Each user sees and changes only their own connections, whatever the URL or session state says."""

from __future__ import annotations

from pages.ui.notices import PENDING_DISCONNECT_KEY
from pages.ui.status import CHECKING_KEY
from tests.pages.helpers import (
    add_connection,
    card_order,
    connect,
    connection_rows,
    page_text,
    texts,
    titles,
    toasts,
)


def test_another_users_connections_are_not_shown_on_the_dashboard(open_app, app_rt, alice, bob, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "evotor")
    add_connection(app_rt, sandbox_control, alice, "vk")
    at = open_app(bob)
    assert card_order(at) == []
    assert "Нет подключений — нажмите «Добавить»" in texts(at)
    assert "Чайная" not in page_text(at)


def test_another_users_connections_do_not_hide_types_on_the_add_page(open_app, app_rt, alice, bob, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "evotor")
    add_connection(app_rt, sandbox_control, alice, "vk")
    at = open_app(bob, page="pages/add_connection.py")
    assert [subheader.value for subheader in at.subheader] == ["Эвотор", "ВКонтакте"]


def test_another_users_connection_is_not_on_the_service_page_whatever_the_url_says(open_app, app_rt, alice, bob,
                                                                                   sandbox_control):
    connection_id = add_connection(app_rt, sandbox_control, alice, "evotor")
    at = open_app(bob, page="evotor", query_params={"id": str(connection_id), "connection_id": str(connection_id),
                                                    "user_id": str(alice.id)})
    assert not at.exception
    assert "Эвотор не подключён." in page_text(at)
    assert "Чайная" not in page_text(at)


def test_each_user_sees_their_own_account_of_the_same_provider(open_app, app_rt, alice, bob):
    connect(app_rt, alice, "evotor")
    connect(app_rt, bob, "evotor", account="01-000000000000002")
    assert "Чайная" in page_text(open_app(alice))
    bobs = open_app(bob)
    assert "Пекарня" in page_text(bobs) and "Чайная" not in page_text(bobs)


def test_a_forged_disconnect_of_another_users_connection_deletes_nothing(open_app, app_rt, alice, bob, sandbox_control):
    alices = add_connection(app_rt, sandbox_control, alice, "evotor")
    at = open_app(bob, session_state={PENDING_DISCONNECT_KEY: {"id": alices, "provider": "evotor"}})
    at.button(key="confirm-disconnect").click().run()
    assert not at.exception
    assert "Подключение не найдено — возможно, его уже отключили" in toasts(at)
    assert [row.id for row in connection_rows(app_rt, alice)] == [alices]


def test_a_forged_check_of_another_users_connection_checks_nothing(open_app, app_rt, alice, bob, sandbox_control):
    alices = add_connection(app_rt, sandbox_control, alice, "evotor")
    before = connection_rows(app_rt, alice)[0]
    at = open_app(bob, session_state={CHECKING_KEY: alices})
    assert not at.exception
    after = connection_rows(app_rt, alice)[0]
    assert (after.last_checked_at, after.updated_at) == (before.last_checked_at, before.updated_at)
    assert toasts(at) == []


def test_a_user_disconnecting_their_service_leaves_the_other_users_one_alone(open_app, app_rt, alice, bob,
                                                                             sandbox_control):
    alices = add_connection(app_rt, sandbox_control, alice, "vk")
    add_connection(app_rt, sandbox_control, bob, "vk")
    at = open_app(bob)
    at.button(key="disconnect-vk").click().run()
    at.button(key="confirm-disconnect").click().run()
    assert "ВКонтакте отключён" in toasts(at)
    assert connection_rows(app_rt, bob) == []
    assert [row.id for row in connection_rows(app_rt, alice)] == [alices]
    assert titles(open_app(alice)) == ["Подключения"]
    assert card_order(open_app(alice)) == ["vk"]
