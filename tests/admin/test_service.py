"""The administrators' service: counts, filters, the constant number of statements, actions on a
user's behalf, and a refusal for everyone else on every call (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select, update

from bench.overview import counting, seed
from connhub.admin import service
from connhub.admin.access import Actor, NotAdmin
from connhub.admin.service import ConnectionState, Filters, SyncState
from connhub.crypto import Secret, TokenCipher
from connhub.models import (
    CheckRecord,
    CheckSource,
    Connection,
    JournalEvent,
    Status,
    SyncConfig,
    SyncRun,
    SyncRunState,
    utcnow,
)
from connhub.runtime import Runtime
from connhub.users import UserView
from tests.support.admin import ADMIN_SETTINGS
from tests.support.connect import add_connection, connect, make_user


@pytest.fixture
def admin_db_rt(make_rt, database_url) -> Runtime:
    return make_rt(DATABASE_URL=database_url, **ADMIN_SETTINGS)


def actor(user: UserView) -> Actor:
    return Actor(user)


def sync(rt: Runtime, user: UserView, *, on: bool, last: SyncRunState | None = None,
         ago: timedelta = timedelta(hours=1),
         reason: str = "") -> None:
    now = utcnow()
    with rt.sessions() as session:
        session.add(SyncConfig(user_id=user.id, evotor_store_id="s1", evotor_store_name="Чайная", vk_group_id=7,
                               vk_group_name="Чай", enabled=on, confirmed_at=now if on else None, confirmed_by="x"))
        if last is not None:
            session.add(SyncRun(user_id=user.id, trigger="cron", state=last, requested_at=now - ago,
                                finished_at=now - ago, stop_reason=reason))
        session.commit()


@pytest.fixture
def world(admin_db_rt, sandbox_control):
    """alice administers; bob, dave, eve and frank have connections and syncs in every state."""
    rt = admin_db_rt
    alice, bob, dave, eve, frank = (make_user(rt, name) for name in ("alice", "bob", "dave", "eve", "frank"))
    ids = {
        "bob-evotor": add_connection(rt, sandbox_control, bob, "evotor", status=Status.ONLINE),
        "bob-vk": add_connection(rt, sandbox_control, bob, "vk", status=Status.RECONNECT, reason="Токен отозван"),
        "dave-evotor": add_connection(rt, sandbox_control, dave, "evotor", status=Status.ONLINE),
        "dave-vk": add_connection(rt, sandbox_control, dave, "vk", status=Status.NEVER_CHECKED),
        "eve-evotor": add_connection(rt, sandbox_control, eve, "evotor", status=Status.OFFLINE),
    }
    foreign = TokenCipher([Fernet.generate_key()]).seal(Secret("t"))
    with rt.sessions() as session:  # dave's Evotor token was sealed with a key connhub no longer has
        session.execute(update(Connection).where(Connection.id == ids["dave-evotor"])
                        .values(access_token_sealed=foreign))
        session.commit()
    sync(rt, alice, on=False)
    sync(rt, bob, on=True, last=SyncRunState.FINISHED)
    sync(rt, dave, on=True, last=SyncRunState.FAILED)
    sync(rt, eve, on=True, last=SyncRunState.STOPPED, reason="Товары выключены в сообществе")
    sync(rt, frank, on=True, last=SyncRunState.FINISHED, ago=timedelta(days=2))
    return rt, dict(alice=alice, bob=bob, dave=dave, eve=eve, frank=frank), ids


def test_counts_every_connection_and_sync_by_state(world):
    rt, users, _ = world
    view = service.overview(rt, actor(users["alice"]))
    assert view.users == 5
    assert view.connection_counts == {ConnectionState.ONLINE: 2, ConnectionState.OFFLINE: 1,
                                      ConnectionState.RECONNECT: 1, ConnectionState.NEVER_CHECKED: 1,
                                      ConnectionState.UNREADABLE: 1}
    assert view.sync_counts == {SyncState.ON: 1, SyncState.OFF: 1, SyncState.STALE: 1, SyncState.STOPPED: 1,
                                SyncState.FAILED: 1}
    assert view.connections_total == 5 and view.syncs_total == 5
    by_owner = {(row.owner, row.provider): row for row in view.connections}
    assert by_owner[("dave@example.test", "evotor")].unreadable
    assert by_owner[("bob@example.test", "vk")].reason == "Токен отозван"
    stopped = next(row for row in view.syncs if row.state is SyncState.STOPPED)
    assert stopped.owner == "eve@example.test" and stopped.last_run_note == "Товары выключены в сообществе"


@pytest.mark.parametrize("filters, expected", [
    (Filters(service="vk"), {("bob", "vk"), ("dave", "vk")}),
    (Filters(connection_state="reconnect"), {("bob", "vk")}),
    (Filters(connection_state="unreadable"), {("dave", "evotor")}),
    (Filters(owner="DAV"), {("dave", "evotor"), ("dave", "vk")}),
    (Filters(owner="%"), set()),  # a LIKE wildcard typed in the search matches itself only
    (Filters(problems_only=True), {("bob", "vk"), ("dave", "evotor"), ("eve", "evotor")}),
    (Filters(problems_only=True, service="evotor", owner="eve"), {("eve", "evotor")}),
])
def test_the_connection_filters(world, filters, expected):
    rt, users, _ = world
    view = service.overview(rt, actor(users["alice"]), filters)
    assert {(row.owner.split("@")[0], row.provider) for row in view.connections} == expected
    assert view.connections_total == len(expected)


@pytest.mark.parametrize("filters, expected", [
    (Filters(problems_only=True), {"dave", "eve", "frank"}),
    (Filters(sync_state="off"), {"alice"}),
    (Filters(sync_state="on"), {"bob"}),
    (Filters(owner="fra"), {"frank"}),
])
def test_the_sync_filters(world, filters, expected):
    rt, users, _ = world
    view = service.overview(rt, actor(users["alice"]), filters)
    assert {row.owner.split("@")[0] for row in view.syncs} == expected


def test_a_page_of_rows_and_the_total(world):
    rt, users, _ = world
    first = service.overview(rt, actor(users["alice"]), Filters(), page_size=2)
    second = service.overview(rt, actor(users["alice"]), Filters(connections_page=1), page_size=2)
    assert first.connections_total == second.connections_total == 5
    assert len(first.connections) == len(second.connections) == 2
    assert not {row.id for row in first.connections} & {row.id for row in second.connections}


def test_the_number_of_statements_does_not_grow_with_the_users(make_rt, database_url):
    counts = []
    for users in (4, 80):
        rt = make_rt(DATABASE_URL=database_url, **ADMIN_SETTINGS)
        with rt.engine.begin() as db:  # the same database for both sizes: start empty
            for table in ("sync_runs", "sync_configs", "connections", "checker_heartbeats", "users"):
                db.exec_driver_sql(f"DELETE FROM {table}")
        seed(rt, users)
        admin = Actor(UserView(id=1, subject="oidc:user0", email="root@example.test", name=""))
        service.overview(rt, admin)  # warm: the token readability is known from here on
        with counting() as plain:
            service.overview(rt, admin)
        with counting() as filtered:
            service.overview(rt, admin, Filters(problems_only=True, owner="user1", service="vk"))
        counts.append((len(plain), len(filtered)))
    assert counts[0] == counts[1]
    assert counts[0][0] <= 10


def test_everyone_else_is_refused_by_every_call_and_nothing_happens(world):
    rt, users, ids = world
    bob = actor(users["bob"])
    calls = [
        lambda: service.overview(rt, bob),
        lambda: service.connection_detail(rt, bob, ids["dave-vk"]),
        lambda: service.sync_detail(rt, bob, users["dave"].id),
        lambda: service.check_now_for(rt, bob, ids["dave-vk"]),
        lambda: service.sync_now_for(rt, bob, users["bob"].id),
        lambda: service.sync_now_for(rt, bob, users["dave"].id),
    ]
    for call in calls:
        with pytest.raises(NotAdmin):
            call()
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CheckRecord)) == 0
        assert session.scalar(select(func.count()).select_from(SyncRun).where(
            SyncRun.state == SyncRunState.REQUESTED)) == 0


def test_an_administrator_checks_and_syncs_on_a_users_behalf_as_themselves(world):
    rt, users, _ = world
    alice, bob = actor(users["alice"]), users["bob"]
    with rt.sessions() as session:  # bob's Evotor, connected for real against the sandbox
        session.execute(Connection.__table__.delete().where(Connection.user_id == bob.id,
                                                            Connection.provider == "evotor"))
        session.commit()
    connection_id = connect(rt, bob, "evotor")
    checked = service.check_now_for(rt, alice, connection_id)
    synced = service.sync_now_for(rt, alice, bob.id)
    assert checked.ok and checked.connection is not None and checked.connection.status is Status.ONLINE
    with rt.sessions() as session:
        sources = session.scalars(select(CheckRecord.source).where(CheckRecord.connection_id == connection_id)).all()
        run = session.scalars(select(SyncRun).where(SyncRun.state == SyncRunState.REQUESTED)).one()
    assert CheckSource.MANUAL in sources
    assert synced.ok and run.user_id == bob.id and run.triggered_by == "администратор alice@example.test"
    with rt.sessions() as session:  # bob's journal says who pressed what on his behalf
        journalled = session.scalars(select(JournalEvent).where(JournalEvent.kind == "admin.action")
                                     .order_by(JournalEvent.id)).all()
    assert [(e.user_id, e.actor_kind, e.actor_label, e.details["action"]) for e in journalled] == [
        (bob.id, "admin", "alice@example.test", "check_now"), (bob.id, "admin", "alice@example.test", "sync_now")]


def test_a_sync_that_is_off_is_not_started_on_the_owners_behalf(world):
    rt, users, _ = world
    result = service.sync_now_for(rt, actor(users["alice"]), users["alice"].id)
    assert not result.ok and "выключена" in result.message


def test_a_user_connection_is_shown_read_only_with_its_checks(world):
    rt, users, ids = world
    detail = service.connection_detail(rt, actor(users["alice"]), ids["dave-evotor"])
    assert detail is not None and detail.owner == "dave@example.test" and detail.unreadable
    assert service.connection_detail(rt, actor(users["alice"]), 10_000) is None
    sync_detail = service.sync_detail(rt, actor(users["alice"]), users["eve"].id)
    assert sync_detail is not None and sync_detail.runs[0].state == SyncRunState.STOPPED
