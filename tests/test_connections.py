"""What the pages read and change: one query per dashboard, always scoped to the signed-in user."""

from sqlalchemy import event, func, select

from connhub.connections import available_providers, delete_for_user, get_for_user, list_for_user, recent_checks
from connhub.db import execute_write
from connhub.models import CheckRecord
from tests.support.connect import connect


def test_the_dashboard_gets_a_users_connections_in_one_query_in_card_order(rt, alice):
    connect(rt, alice, "vk")
    connect(rt, alice, "evotor")
    statements = []
    event.listen(rt.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with rt.sessions() as session:
        views = list_for_user(session, alice.id)
    assert [view.title for view in views] == ["Эвотор", "ВКонтакте"]
    assert [view.details for view in views] == ["Чайная", "Иван Иванов"]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_a_user_sees_only_their_own_connections(rt, alice, bob):
    connect(rt, alice, "evotor")
    with rt.sessions() as session:
        assert list_for_user(session, bob.id) == []
        assert get_for_user(session, bob.id, "evotor") is None
        assert [info.key for info in available_providers(session, bob.id)] == ["evotor", "vk"]


def test_only_unconnected_types_are_offered(rt, alice):
    connect(rt, alice, "evotor")
    with rt.sessions() as session:
        assert [info.title for info in available_providers(session, alice.id)] == ["ВКонтакте"]
    connect(rt, alice, "vk")
    with rt.sessions() as session:
        assert available_providers(session, alice.id) == []


def test_a_user_cannot_delete_someone_elses_connection(rt, alice, bob):
    connection_id = connect(rt, alice, "evotor")
    assert execute_write(rt.sessions, lambda session: delete_for_user(session, bob.id, connection_id)) is None
    with rt.sessions() as session:
        assert get_for_user(session, alice.id, "evotor") is not None


def test_deleting_removes_the_connection_its_tokens_and_history_and_offers_the_type_again(rt, alice):
    connection_id = connect(rt, alice, "evotor")
    deleted = execute_write(rt.sessions, lambda session: delete_for_user(session, alice.id, connection_id))
    with rt.sessions() as session:
        assert deleted is not None and deleted.title == "Эвотор"
        assert list_for_user(session, alice.id) == []
        assert session.scalar(select(func.count()).select_from(CheckRecord)) == 0
        assert [info.key for info in available_providers(session, alice.id)] == ["evotor", "vk"]


def test_history_is_readable_only_by_the_owner(rt, alice, bob):
    connection_id = connect(rt, alice, "vk")
    with rt.sessions() as session:
        assert [check.source for check in recent_checks(session, alice.id, connection_id)] == ["connect"]
        assert recent_checks(session, bob.id, connection_id) == []
