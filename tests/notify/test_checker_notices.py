"""The real `checker.py` tells people when a connection breaks and when it is back, exactly once,
through real local receivers (SMTP and a JSON webhook), and never writes a token anywhere."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from connhub.models import Connection, JournalEvent, NotifyOutbox, utcnow
from connhub.notify import outbox, service
from tests.notify.helpers import notices
from tests.notify.sidecar import checker_once, due_now, sidecar
from tests.support.connect import connect, make_user

BOT_TOKEN = "123456789:AAbotSECRETtoken_abcdefgh"


def _channels(rt, user, http):
    service.add(rt, user.id, kind="email", target="alice@example.test")
    service.add(rt, user.id, kind="apprise", target=f"json://127.0.0.1:{http.port}/hook")
    service.add(rt, user.id, kind="telegram",
                        target=service.telegram_url(BOT_TOKEN, "-100123"))


def _hooks(http) -> list:
    return [post for post in http.items if post.path == "/hook"]


def _telegrams(http) -> list:
    return [post for post in http.items if post.path.endswith("/sendMessage")]


def _tokens(rt) -> set[str]:
    found: set[str] = set()
    with rt.sessions() as session:
        for row in session.scalars(select(Connection)).all():
            found.add(rt.cipher.open(row.access_token_sealed).reveal())
            if row.refresh_token_sealed:
                found.add(rt.cipher.open(row.refresh_token_sealed).reveal())
    return found


def test_a_revoked_token_sends_one_mail_and_one_webhook_and_the_recovery_one_more(
        make_rt, smtp, http, notify_overrides, sandbox_control):
    rt = make_rt(**notify_overrides)
    alice = make_user(rt, "alice")
    connect(rt, alice, "vk")
    _channels(rt, alice, http)
    tokens = _tokens(rt)

    due_now(rt)
    log = checker_once(rt)
    assert notices(rt) == []  # online and still online: nothing to tell

    sandbox_control.revoke("vk")
    due_now(rt)
    log += checker_once(rt)
    [mail] = smtp.wait_for(1)
    http.wait_for(2)
    [post], [telegram] = _hooks(http), _telegrams(http)
    assert "нужно переподключить" in mail.subject and "Переподключите" in mail.body
    assert "http://localhost:8501/vk" in mail.body
    assert "нужно переподключить" in post.payload["title"] and "нужно переподключить" in telegram.payload["text"]
    for _ in range(2):  # still revoked: checked again, nobody told again
        due_now(rt)
        log += checker_once(rt)
    assert len(smtp.items) == 1 and len(http.items) == 2

    connect(rt, alice, "vk")  # the user reconnects: that is the recovery
    tokens |= _tokens(rt)
    log += checker_once(rt)
    assert len(smtp.wait_for(2)) == 2 and len(http.wait_for(4)) == 4
    assert len(_hooks(http)) == 2 and len(_telegrams(http)) == 2
    assert "снова работает" in smtp.items[1].subject

    # No token in the journal, the outbox, the sidecar's log, or anything that arrived.
    with rt.engine.connect() as db:
        stored = json.dumps([list(map(str, row)) for table in ("journal_events", "notify_outbox")
                             for row in db.execute(text(f"SELECT * FROM {table}")).all()], ensure_ascii=False)
    arrived = json.dumps([m.body + m.subject for m in smtp.items] + [p.payload for p in http.items],
                         ensure_ascii=False)
    assert tokens and all(token not in stored + arrived + log for token in tokens)
    assert BOT_TOKEN not in stored + arrived + log and "AAbotSECRET" not in log


def test_a_claim_left_by_a_killed_sidecar_is_sent_once_by_the_next(make_rt, smtp, http, notify_overrides):
    rt = make_rt(**notify_overrides)
    alice = make_user(rt, "alice")
    with rt.sessions() as session:
        channel = service.add(rt, alice.id, kind="email", target="alice@example.test")
        service.test(rt, alice.id, channel.id)
    [claimed] = outbox.claim(rt.sessions, "killed-sidecar")  # claimed, then the process died before sending
    checker_once(rt)
    assert smtp.items == []  # its lease still holds: nobody sends it yet
    with rt.sessions() as session:
        session.execute(update(NotifyOutbox).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    checker_once(rt)
    checker_once(rt)
    assert len(smtp.wait_for(1)) == 1
    [row] = notices(rt)
    assert row.id == claimed.id and row.state == "sent" and row.attempts == 1


@pytest.mark.postgres
def test_two_sidecars_on_postgresql_send_each_notice_once(make_rt, pg_url, smtp, http, notify_overrides,
                                                          sandbox_control):
    rt = make_rt(DATABASE_URL=pg_url, HEALTH_CHECK_INTERVAL_SECONDS=10, **notify_overrides)
    users = [make_user(rt, f"user{i}") for i in range(5)]
    for user in users:
        connect(rt, user, "vk")
        with rt.sessions() as session:
            service.add(rt, user.id, kind="email", target=f"u{user.id}@example.test")
            for _ in range(4):
                service.test(rt, user.id, service.channels(rt, user.id)[0].id)
    sandbox_control.revoke("vk")
    due_now(rt)
    with sidecar(rt), sidecar(rt):  # leaving stops both and waits for their sends in flight
        assert len(smtp.wait_for(25, timeout=90)) == 25
    assert len(smtp.items) == 25
    rows = notices(rt)
    assert len(rows) == 25 and all(row.state == "sent" and row.attempts == 1 for row in rows)
    with rt.sessions() as session:
        assert len(session.scalars(select(JournalEvent.id).where(
            JournalEvent.kind == "connection.status_changed", JournalEvent.details["new"].as_string() == "reconnect"))
            .all()) == 5
    assert sorted(m.to[0] for m in smtp.items) == sorted(f"u{u.id}@example.test" for u in users for _ in range(5))
