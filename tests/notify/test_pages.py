"""«Уведомления» and «Журнал» (AppTest against the test's database)."""

from __future__ import annotations

import threading

import pytest

from connhub.journal import events
from connhub.journal.events import Actor
from connhub.journal.record import record
from connhub.notify import service
from connhub.notify.sender import NotifyWorker
from tests.notify.helpers import notices
from tests.pages.helpers import page_text, unescape
from tests.support.apptest import app_opener, fresh_streamlit_caches, keep_main_module  # noqa: F401 - fixtures
from tests.support.connect import make_user

NOTIFICATIONS = "pages/notifications.py"
JOURNAL = "pages/journal.py"
TOKEN = "123456789:AAtestTOKENsecretValue_1234"


@pytest.fixture
def app(make_rt, notify_overrides, monkeypatch):
    rt = make_rt(**notify_overrides)
    return rt, app_opener(rt, monkeypatch)


def test_a_channel_switched_off_by_the_sender_shows_why(app, http):
    rt, open_app = app
    alice = make_user(rt, "alice")
    channel = service.add(rt, alice.id, kind="telegram",
                                  target=service.telegram_url(TOKEN, "-100999"))
    service.test(rt, alice.id, channel.id)
    http.answer("/bot", 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
    NotifyWorker(rt, "test", threading.Event()).run_once()
    at = open_app(alice, page=NOTIFICATIONS)
    assert not at.exception
    text = page_text(at)
    assert "Канал выключен: Получатель ответил 400: Bad Request: chat not found" in unescape(text)
    assert TOKEN not in text
    assert at.button(key=f"channel-{channel.id}-test").disabled


def test_adding_channels_and_a_test_message_touch_no_network(app, smtp, http):
    rt, open_app = app
    alice = make_user(rt, "alice")
    at = open_app(alice, page=NOTIFICATIONS)
    at.text_input(key="add-email-address").input("alice@example.test")
    at.button(key="FormSubmitter:add-email-Добавить e-mail").click().run()
    at.text_input(key="add-apprise-url").input(f"json://user:s3cret-pass@127.0.0.1:{http.port}/hook")
    at.button(key="FormSubmitter:add-apprise-Добавить").click().run()
    assert not at.exception
    channels = service.channels(rt, alice.id)
    assert [c.kind for c in channels] == ["email", "apprise"]
    text = unescape(page_text(at))
    assert "s3cret-pass" not in text  # the page shows a label, never the URL's credentials
    assert "a***@example.test" in text and "json://127.0.0.1" in text
    at.button(key=f"channel-{channels[1].id}-test").click().run()
    assert [n.state for n in notices(rt)] == ["pending"]
    assert smtp.items == [] and http.items == []  # the sidecar sends it, not the page


def test_an_invalid_address_is_refused_with_the_reason(app):
    rt, open_app = app
    alice = make_user(rt, "alice")
    at = open_app(alice, page=NOTIFICATIONS)
    at.text_input(key="add-email-address").input("not an address")
    at.button(key="FormSubmitter:add-email-Добавить e-mail").click().run()
    assert "Адрес e-mail выглядит неверно" in page_text(at)
    assert service.channels(rt, alice.id) == []


def test_the_journal_lists_events_newest_first_filters_and_escapes(app):
    rt, open_app = app
    alice = make_user(rt, "alice")
    with rt.sessions() as session:
        record(session, events.sync_switched(alice.id, Actor.user("alice@example.test"), on=True,
                                             confirmed="Магазин → **Группа** <b>x</b>"))
        record(session, events.status_changed(alice.id, "vk", 1, events.CHECKER, old="online", new="reconnect",
                                              reason="Доступ отозван"))
        session.commit()
    at = open_app(alice, page=JOURNAL)
    assert not at.exception
    [table] = at.dataframe
    rows = table.value.to_dict("records")
    assert [row["Событие"] for row in rows] == ["Состояние изменилось", "Синхронизация включена"]
    assert rows[0]["Что произошло"] == "ВКонтакте: в сети → нужно переподключить: Доступ отозван"
    assert rows[0]["Кто"] == "проверка по расписанию"
    at.multiselect(key="journal-services").set_value(["sync"]).run()
    [table] = at.dataframe
    assert [row["Сервис"] for row in table.value.to_dict("records")] == ["Синхронизация"]


def test_a_service_page_shows_its_connections_journal(app, sandbox_control):
    from tests.support.connect import connect

    rt, open_app = app
    alice = make_user(rt, "alice")
    connect(rt, alice, "vk")
    at = open_app(alice, page="vk")
    assert not at.exception
    assert "Журнал подключения" in page_text(at)
    text = unescape(page_text(at))
    assert "пользователь: alice@example.test · ВКонтакте: подключено (Иван Иванов)" in text
