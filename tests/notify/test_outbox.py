"""The outbox: notices on the edge of health hysteresis, flapping, channels' topics, claims."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select, update

from connhub.journal.events import EventKind
from connhub.models import JournalEvent, NotifyOutbox, Outcome, utcnow
from connhub.notify import outbox, service
from connhub.notify.topics import Notice
from tests.notify.helpers import check, flap, notices
from tests.support.connect import add_connection


def _channel(rt, user, kind="apprise", target="json://127.0.0.1:9/hook", topics=()):
    return service.add(rt, user.id, kind=kind, target=target, topics=topics)


def test_one_notice_per_real_change_never_per_failed_check(rt, alice, sandbox_control):
    cid = add_connection(rt, sandbox_control, alice, "vk")
    _channel(rt, alice)
    assert check(rt, cid, Outcome.TROUBLE) == "online"  # one failed check: hysteresis holds, nobody told
    assert check(rt, cid, Outcome.TROUBLE) == "online"
    assert notices(rt) == []
    assert check(rt, cid, Outcome.TROUBLE) == "offline"  # the third: the status changes, one notice
    check(rt, cid, Outcome.TROUBLE)
    check(rt, cid, Outcome.TROUBLE)
    assert [n.notice for n in notices(rt)] == [Notice.TROUBLE]
    assert "не отвечает" in notices(rt)[0].title
    check(rt, cid, Outcome.OK)
    assert check(rt, cid, Outcome.OK) == "online"
    assert [n.notice for n in notices(rt)] == [Notice.TROUBLE, Notice.RECOVERED]


def test_twenty_flaps_in_an_hour_send_one_unstable_notice_after_the_threshold(rt, alice, sandbox_control):
    cid = add_connection(rt, sandbox_control, alice, "vk")
    _channel(rt, alice)
    flap(rt, cid, 20)
    sent = [n.notice for n in notices(rt)]
    assert sent == [Notice.TROUBLE, Notice.RECOVERED, Notice.TROUBLE, Notice.RECOVERED, Notice.UNSTABLE]
    assert "нестабильно" in notices(rt)[-1].title
    with rt.sessions() as session:  # the journal still has every change
        assert len(session.scalars(select(JournalEvent).where(
            JournalEvent.kind == EventKind.STATUS_CHANGED)).all()) == 20


def test_a_channel_gets_only_the_topics_it_chose_and_a_switched_off_one_nothing(rt, alice, bob, sandbox_control):
    cid = add_connection(rt, sandbox_control, alice, "vk")
    recovery_only = _channel(rt, alice, topics=["connection_recovered"])
    off = _channel(rt, alice)
    _channel(rt, bob)  # someone else's channel hears nothing of alice's connections
    service.update(rt, alice.id, off.id, topics=["connection_trouble"], remind_hourly=False,
                           enabled=False)
    check(rt, cid, Outcome.REJECTED)
    check(rt, cid, Outcome.OK)
    check(rt, cid, Outcome.OK)
    assert [(n.channel_id, n.notice) for n in notices(rt)] == [(recovery_only.id, Notice.RECOVERED)]


def test_reminder_while_still_broken_at_most_hourly(rt, alice, sandbox_control):
    cid = add_connection(rt, sandbox_control, alice, "vk")
    channel = _channel(rt, alice)
    service.update(rt, alice.id, channel.id, topics=["connection_trouble"], remind_hourly=True,
                           enabled=True)
    check(rt, cid, Outcome.REJECTED)
    assert outbox.enqueue_reminders(rt.sessions) == 0  # the trouble notice was just written
    assert outbox.enqueue_reminders(rt.sessions, now=utcnow() + timedelta(minutes=61)) == 1
    assert outbox.enqueue_reminders(rt.sessions, now=utcnow() + timedelta(minutes=62)) == 0
    assert [n.notice for n in notices(rt)] == [Notice.TROUBLE, Notice.REMINDER]


def test_rows_are_claimed_once_across_workers(db_rt):
    from tests.support.connect import make_user

    user = make_user(db_rt, "carol")
    channel = _channel(db_rt, user)
    with db_rt.sessions() as session:
        for _ in range(40):
            row = session.get(service.NotifyChannel, channel.id)
            outbox.enqueue_test(session, row)  # type: ignore[arg-type]
        session.commit()
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def worker(name: str) -> None:
        barrier.wait()
        mine: list[int] = []
        while rows := outbox.claim(db_rt.sessions, name, limit=3):
            mine.extend(row.id for row in rows)
        claimed[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [row_id for ids in claimed.values() for row_id in ids]
    assert len(every) == 40 and len(set(every)) == 40


def test_a_claim_whose_sidecar_died_is_taken_over_after_its_lease(rt, alice):
    channel = _channel(rt, alice)
    with rt.sessions() as session:
        outbox.enqueue_test(session, session.get(service.NotifyChannel, channel.id))  # type: ignore[arg-type]
        session.commit()
    [first] = outbox.claim(rt.sessions, "dead")
    assert outbox.claim(rt.sessions, "next") == []  # the lease holds
    with rt.sessions() as session:
        session.execute(update(NotifyOutbox).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    [taken] = outbox.claim(rt.sessions, "next")
    assert taken.id == first.id
    assert not outbox.mark_sending(rt.sessions, first.id, "dead")  # the dead one's claim is gone
    assert outbox.mark_sending(rt.sessions, taken.id, "next")


def test_finished_rows_are_pruned_after_thirty_days_pending_ones_never(rt, alice):
    channel = _channel(rt, alice)
    with rt.sessions() as session:
        for _ in range(2):
            outbox.enqueue_test(session, session.get(service.NotifyChannel, channel.id))  # type: ignore[arg-type]
        session.commit()
    first, _second = outbox.claim(rt.sessions, "w")
    assert outbox.mark_sending(rt.sessions, first.id, "w")
    outbox.mark_sent(rt.sessions, first.id, "w")
    assert outbox.prune(rt.sessions, now=utcnow() + timedelta(days=29)) == 0
    assert outbox.prune(rt.sessions, now=utcnow() + timedelta(days=31)) == 1
    assert [n.state for n in notices(rt)] == ["pending"]
