"""Every event kind is written by the code path that causes it, with its actor and a summary, and
the notices it causes; never with a token in it."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, text

from connhub import connections
from connhub.catalog import queries, refresh
from connhub.catalog import service as catalog_service
from connhub.db import execute_write
from connhub.health.check import UNREADABLE_TOKEN
from connhub.health.policy import CheckResult
from connhub.health.results import apply_results
from connhub.journal import service as journal
from connhub.journal.events import EventKind
from connhub.journal.hooks import note_stale_syncs
from connhub.models import (
    CheckSource,
    Connection,
    JournalEvent,
    Outcome,
    RefreshSource,
    RuleMode,
    RuleTarget,
    utcnow,
)
from connhub.notify import service as notify_service
from connhub.notify.topics import Notice
from connhub.ports.catalog import GroupRecord, StoreRecord
from connhub.providers.base import ProviderError
from connhub.sync import run_record, runs
from tests.notify.helpers import check, notices
from tests.support.catalog import STORE, ScriptedSource, product
from tests.support.connect import connect
from tests.support.sync import ready_user, save_config, set_rights


def kinds(rt, user_id) -> list[str]:
    with rt.sessions() as session:
        return list(session.scalars(select(JournalEvent.kind).where(JournalEvent.user_id == user_id)
                                    .order_by(JournalEvent.id)).all())


def refresh_once(rt, connection_id, *, fail: bool) -> None:
    failure = ProviderError("Эвотор не ответил", permanent=False, code="timeout")
    source = ScriptedSource(stores_list=[StoreRecord(STORE, "Чайная", "Москва")],
                            groups={STORE: [[GroupRecord("g1", "Чай")]]}, products={STORE: [[product("p1")]]},
                            fail_at={1: failure} if fail else {})
    refresh.request_refresh(rt.sessions, connection_id, store_id=None, source=RefreshSource.SCHEDULE)
    refresh.run_pending(rt.sessions, "test", lambda _cid: source, wait=lambda _s: None)


def test_every_kind_is_journalled_by_its_code_path_with_no_token(rt, alice, bob, sandbox_control):
    with rt.sessions() as session:  # a channel for every topic, so every notice is written too
        for user in (alice, bob):
            notify_service.add(rt, user.id, kind="apprise", target="json://127.0.0.1:9/h")

    # Connections: connected, reconnected, status changes (with their reason), unreadable token.
    vk = connect(rt, bob, "vk")  # bob's connections; alice's sync below
    connect(rt, bob, "vk")
    set_rights(rt, vk, [])  # as if the last probe found no rights; «Проверить сейчас» finds them
    connections.check_now(rt, user_id=bob.id, connection_id=vk)
    assert check(rt, vk, Outcome.REJECTED) == "reconnect"
    with rt.sessions() as session:
        version = session.get(Connection, vk).token_version  # type: ignore[union-attr]
    unreadable = CheckResult(vk, version, Outcome.TROUBLE, "", UNREADABLE_TOKEN, utcnow())
    apply_results(rt, [unreadable], source=CheckSource.CHECKER)
    apply_results(rt, [unreadable], source=CheckSource.CHECKER)  # once a day, not once a check
    with rt.sessions() as session:
        tokens = {rt.cipher.open(row.access_token_sealed).reveal() for row in session.scalars(select(Connection))}

    # The sync: settings, on, a rule added and removed, runs finished / stopped / failed, stale.
    ready_user(rt, sandbox_control, alice)
    save_config(rt, alice, on_zero_price="publish")
    catalog_service.set_rules(rt.sessions, alice.id, STORE, RuleTarget.PRODUCT, [("p-latte", "Латте")],
                              RuleMode.EXCLUDE)
    with rt.sessions() as session:
        rule_ids = [rule.id for rule in queries.rules_for(session, alice.id, STORE)]
    catalog_service.remove_rules(rt.sessions, alice.id, rule_ids)
    for state, reason in (("finished", ""), ("stopped", "В сообществе выключены товары"), ("failed", "Ошибка")):
        with runs.start_run(rt.sessions, alice.id, trigger="cron", triggered_by="cron") as run:
            recorder = run_record.RunRecorder(rt.sessions, run.id)
            recorder.fail("p1", "Чай", "ВКонтакте отклонил фото") if state == "finished" else None
            recorder.finish(state, reason)
    assert note_stale_syncs(rt.sessions, after=timedelta(hours=26), now=utcnow() + timedelta(hours=27)) == 1
    assert note_stale_syncs(rt.sessions, after=timedelta(hours=26), now=utcnow() + timedelta(hours=28)) == 0
    from connhub.sync import config

    with rt.sessions.begin() as session:
        config.disable(session, alice.id)

    # A buyer's order, first seen by the orders poller (connhub.orders).
    from connhub.orders.poller import store_orders
    from connhub.ports.goods import Order, OrderLine
    from tests.support.sync import GROUP

    order = Order(7, 1, "1-7", int(utcnow().timestamp()), "new", "Позвоните", 25000,
                  (OrderLine(1, "Латте", "p-latte", 2, 12500),))
    execute_write(rt.sessions, lambda s: store_orders(s, alice.id, GROUP, None, "vk", [order], [], tell=True))

    # The catalog: a refresh fails (told once), fails again (not told), recovers.
    with rt.sessions() as session:
        evotor = next(c.id for c in connections.list_for_user(session, alice.id) if c.provider == "evotor")
    refresh_once(rt, evotor, fail=True)
    refresh_once(rt, evotor, fail=True)
    refresh_once(rt, evotor, fail=False)

    # An administrator presses «Проверить сейчас» on bob's behalf (from «Обзор»).
    from connhub.admin import service as admin
    from connhub.admin.access import Actor as AdminActor
    from connhub.users import LOCAL_SUBJECT, ensure_user

    with rt.sessions() as session:
        operator = ensure_user(session, subject=LOCAL_SUBJECT, email="ops@example.test", name="Ops")
    assert admin.check_now_for(rt, AdminActor(operator), vk).ok

    # Disconnected.
    execute_write(rt.sessions, lambda session: connections.delete_for_user(session, bob.id, vk))

    found = kinds(rt, alice.id) + kinds(rt, bob.id)
    for kind in EventKind:
        assert kind in found, kind
    assert found.count(EventKind.TOKEN_UNREADABLE) == 1
    assert found.count(EventKind.CATALOG_REFRESH_FAILED) == 1

    with rt.sessions() as session:
        views = journal.events(session, alice.id)
        bobs = journal.events(session, bob.id)
    summaries = {view.kind: view for view in reversed([*views, *bobs])}  # the newest of each
    assert summaries[EventKind.ORDER_NEW].summary == "ВКонтакте: новый заказ №1-7 на 250,00 ₽ (2 товара)"
    assert summaries[EventKind.STATUS_CHANGED].summary.endswith("в сети → нужно переподключить: Доступ отозван")
    assert summaries[EventKind.STATUS_CHANGED].actor == "проверка по расписанию"
    assert summaries[EventKind.RIGHTS_CHANGED].actor == "«Проверить сейчас»"
    assert "появились: " in summaries[EventKind.RIGHTS_CHANGED].summary
    assert summaries[EventKind.SYNC_ENABLED].actor == "пользователь: alice@example.test"
    assert "нулевая цена: skip → publish" in summaries[EventKind.SETTINGS_CHANGED].summary
    assert summaries[EventKind.RUN_STOPPED].summary == "Синхронизация остановлена: В сообществе выключены товары"
    assert summaries[EventKind.RUN_FINISHED].summary.startswith("Синхронизация завершена с ошибками")
    assert summaries[EventKind.RULE_REMOVED].summary == "Каталог: правило «исключить» удалено для «Латте»"
    assert bobs[0].kind == EventKind.DISCONNECTED  # newest first
    assert views[0].kind == EventKind.CATALOG_REFRESH_RECOVERED

    sent = [n.notice for n in notices(rt)]
    for notice in (Notice.TROUBLE, Notice.SYNC_ERRORS, Notice.SYNC_STOPPED, Notice.SYNC_FAILED, Notice.SYNC_STALE,
                   Notice.CATALOG_FAILED, Notice.CATALOG_RECOVERED):
        assert notice in sent, notice
    assert sent.count(Notice.CATALOG_FAILED) == 1

    with rt.engine.connect() as db:
        stored = json.dumps([list(map(str, row)) for table in ("journal_events", "notify_outbox")
                             for row in db.execute(text(f"SELECT * FROM {table}")).all()], ensure_ascii=False)
    assert tokens and not any(token in stored for token in tokens)
