"""The sender against real local receivers: SMTP, a JSON webhook, a Telegram-compatible Bot API."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import update

from connhub.models import NotifyChannel, NotifyOutbox, utcnow
from connhub.notify import outbox, service
from connhub.notify.sender import NotifyWorker
from tests.notify.helpers import notices
from tests.notify.sidecar import checker_once

TOKEN = "123456789:AAtestTOKENsecretValue_1234"


def _worker(rt):
    return NotifyWorker(rt, "test-sender", threading.Event())


def _add(rt, user, kind, target):
    channel = service.add(rt, user.id, kind=kind, target=target)
    assert service.test(rt, user.id, channel.id)
    return channel


def _channels(rt, user):
    return {c.id: c for c in service.channels(rt, user.id)}


def test_test_notices_arrive_by_mail_webhook_and_telegram(make_rt, alice, smtp, http, notify_overrides):
    rt = make_rt(**notify_overrides)
    _add(rt, alice, "email", "alice@example.test")
    _add(rt, alice, "apprise", f"json://127.0.0.1:{http.port}/hook")
    _add(rt, alice, "telegram", service.telegram_url(TOKEN, "-100123"))
    assert _worker(rt).run_once() == 3
    [mail] = smtp.wait_for(1)
    assert mail.to == ["alice@example.test"] and mail.subject == "connhub: проверочное сообщение"
    assert "http://localhost:8501/notifications" in mail.body
    posts = http.wait_for(2)
    assert sorted(p.path for p in posts) == ["/bot" + TOKEN + "/sendMessage", "/hook"]
    assert all(n.state == "sent" for n in notices(rt))
    assert _worker(rt).run_once() == 0  # nothing is sent twice


def test_a_receiver_answering_500_is_retried_with_backoff(make_rt, alice, http, notify_overrides):
    rt = make_rt(**notify_overrides)
    _add(rt, alice, "apprise", f"json://127.0.0.1:{http.port}/hook")
    http.answer("/hook", 500)
    checker_once(rt)  # the real sidecar
    [row] = notices(rt)
    assert row.state == "pending" and row.attempts == 1 and row.next_attempt_at > utcnow()
    assert "500" in row.last_error
    checker_once(rt)  # not due yet: not sent again
    assert http.refused == ["/hook"]
    http.answers.clear()
    with rt.sessions() as session:
        session.execute(update(NotifyOutbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    checker_once(rt)
    assert len(http.wait_for(1)) == 1
    [row] = notices(rt)
    assert row.state == "sent" and row.attempts == 2
    assert all(c.enabled for c in _channels(rt, alice).values())


def test_permanent_failures_switch_the_channel_off_with_the_reason(make_rt, alice, smtp, http, notify_overrides):
    rt = make_rt(**notify_overrides)
    webhook = _add(rt, alice, "apprise", f"json://127.0.0.1:{http.port}/gone")
    telegram = _add(rt, alice, "telegram", service.telegram_url(TOKEN, "-100999"))
    mail = _add(rt, alice, "email", "bad-address@example.test")
    http.answer("/gone", 400)
    http.answer("/bot", 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
    checker_once(rt)  # the real sidecar
    channels = _channels(rt, alice)
    assert not any(c.enabled for c in channels.values())
    assert channels[webhook.id].disabled_reason == "Получатель ответил 400"
    assert channels[telegram.id].disabled_reason == "Получатель ответил 400: Bad Request: chat not found"
    assert channels[mail.id].disabled_reason == "Почтовый сервер отклонил адрес получателя"
    assert smtp.items == [] and http.items == []
    assert not service.test(rt, alice.id, webhook.id)  # a switched-off channel takes no test notice


def test_a_notice_whose_channel_was_switched_off_after_it_was_written_is_dropped(make_rt, alice, http,
                                                                                  notify_overrides):
    rt = make_rt(**notify_overrides)
    channel = _add(rt, alice, "apprise", f"json://127.0.0.1:{http.port}/hook")
    with rt.sessions() as session:
        session.execute(update(NotifyChannel).values(enabled=False))
        session.commit()
    assert _worker(rt).run_once() == 0
    assert [n.state for n in notices(rt)] == [outbox.DROPPED]
    assert http.items == [] and channel.id
