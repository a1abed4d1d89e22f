"""The sync's own schedule (issue 17): next runs, due runs claimed by the sidecar, freshness, and
cron and the schedule never overlapping; on SQLite and PostgreSQL.

Time is made short by `SYNC_SCHEDULE_MINUTE_SECONDS` (an interval's «minute»), never by sleeping
through an interval: the tests wait on the database with a deadline."""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from connhub.models import JournalEvent, SyncConfig, SyncRun, SyncRunState, utcnow
from connhub.sync import readout, runs, schedule, service, texts
from connhub.sync.run_record import RunRecorder
from connhub.sync.worker import sync_worker
from tests.support.connect import make_user
from tests.support.goods import ready_for_goods
from tests.work.procs import DEADLINE, Proc, env_for, kill_run_at

MINUTE = 0.02  # seconds per schedule «minute»: 15 min → 0,3 s
ACCEPT_WITHIN = timedelta(seconds=10)


@pytest.fixture
def fast_rt(make_rt, database_url):
    return make_rt(DATABASE_URL=database_url, SYNC_SCHEDULE_MINUTE_SECONDS=MINUTE)


def wait_until(condition, what: str, timeout: float = DEADLINE, tick=None):
    deadline = time.monotonic() + timeout
    while True:
        if tick is not None:
            tick()
        got = condition()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def all_runs(rt) -> list[SyncRun]:
    with rt.sessions() as session:
        return list(session.scalars(select(SyncRun).order_by(SyncRun.id)))


def set_schedule(rt, user_id: int, chosen: schedule.Schedule, next_at: datetime | None = None) -> None:
    service.save_schedule(rt, user_id, chosen)
    if next_at is not None:
        with rt.sessions.begin() as session:
            session.execute(update(SyncConfig).where(SyncConfig.user_id == user_id).values(schedule_next_at=next_at))


# ----------------------------------------------------------------------------- pure


def test_next_run_every_interval_and_daily_at_the_users_time():
    minute = timedelta(minutes=1)
    at = datetime(2026, 3, 6, 9, 10, tzinfo=UTC)
    assert schedule.next_after(schedule.Schedule(schedule.EVERY, 15), at, minute) == at + timedelta(minutes=15)
    daily = schedule.Schedule(schedule.DAILY, 60, "03:00", "Europe/Moscow")  # 03:00 MSK = 00:00 UTC
    assert schedule.next_after(daily, at, minute) == datetime(2026, 3, 7, 0, 0, tzinfo=UTC)
    assert schedule.next_after(daily, datetime(2026, 3, 6, 23, 0, tzinfo=UTC), minute) == \
        datetime(2026, 3, 7, 0, 0, tzinfo=UTC)
    assert schedule.next_after(schedule.Schedule(schedule.OFF), at, minute) is None


def test_the_schedule_form_is_checked_in_russian():
    assert schedule.parse("every", "30") == schedule.Schedule(schedule.EVERY, 30)
    assert schedule.parse("daily", 60, "7:05", "Asia/Yekaterinburg").at == "07:05"
    with pytest.raises(schedule.InvalidSchedule, match="Интервал: выберите одно из: 15 мин, 30 мин, 1 ч"):
        schedule.parse("every", "7")
    with pytest.raises(schedule.InvalidSchedule, match="Время запуска"):
        schedule.parse("daily", 60, "25:99")
    assert schedule.describe(schedule.Schedule()) == "каждый час"
    assert schedule.describe(schedule.Schedule(schedule.EVERY, 180)) == "каждые 3 ч"
    assert schedule.describe(schedule.Schedule(schedule.DAILY, 60, "03:00")) == "раз в сутки в 03:00"


def test_triggers_read_truthfully():
    assert texts.trigger_text(runs.Trigger.SCHEDULE, schedule.SCHEDULED_BY) == "по расписанию"
    assert texts.trigger_text(runs.Trigger.CRON, "cron") == "cron (run/sync.sh)"
    assert texts.trigger_text(runs.Trigger.MANUAL, "manual") == "вручную (run/sync.sh)"
    assert texts.trigger_text(runs.Trigger.PAGE, "alice@example.test") == "со страницы: alice@example.test"


# ----------------------------------------------------------------------------- the sidecar


def test_switching_on_plans_the_first_run_one_interval_away_by_default(fast_rt, vk_goods):
    alice = make_user(fast_rt, "alice")
    ready_for_goods(fast_rt, alice, vk_goods)
    now = utcnow()
    assert schedule.queue_due(fast_rt.sessions, fast_rt.settings, now) == []  # armed, not run at once
    with fast_rt.sessions() as session:
        state = schedule.freshness(session, alice.id, fast_rt.settings, now)
    assert state.schedule == schedule.Schedule()  # every hour
    assert state.next_run_at is not None and state.next_run_at > now
    assert all_runs(fast_rt) == []


def test_the_sidecar_alone_starts_scheduled_runs(fast_rt, vk_goods):
    """Nothing but `checker.py` runs: a due schedule becomes a run «по расписанию», twice."""
    alice = make_user(fast_rt, "alice")
    ready_for_goods(fast_rt, alice, vk_goods)
    set_schedule(fast_rt, alice.id, schedule.Schedule(schedule.EVERY, 15))
    sidecar = Proc([sys.executable, "checker.py"], env_for(fast_rt))
    try:
        def two_scheduled_runs_ended() -> bool:
            # (the sidecar's own health check may find the seeded Evotor token unknown to the
            # sandbox: the run then stops as not ready; what counts here is who started it, and when)
            ended = [run for run in all_runs(fast_rt) if run.trigger == runs.Trigger.SCHEDULE
                     and run.finished_at is not None and run.started_at is not None]
            return len(ended) >= 2

        wait_until(two_scheduled_runs_ended, "two scheduled runs to end with only the sidecar running")
    finally:
        sidecar.stop()
    first = all_runs(fast_rt)[0]
    assert first.triggered_by == schedule.SCHEDULED_BY and not first.dry_run
    assert first.started_at is not None and first.started_at >= first.requested_at  # requested_at: the due time
    assert first.phase != texts.PHASE_WAITING


def test_cron_and_the_schedule_never_overlap(fast_rt, vk_goods):
    alice = make_user(fast_rt, "alice")
    ready_for_goods(fast_rt, alice, vk_goods)
    set_schedule(fast_rt, alice.id, schedule.Schedule(schedule.EVERY, 15), next_at=utcnow())
    # cron's run is going: the due moment is skipped, and the next one planned
    with runs.start_run(fast_rt.sessions, alice.id, trigger=runs.Trigger.CRON, triggered_by="cron") as cron:
        now = utcnow()
        assert schedule.queue_due(fast_rt.sessions, fast_rt.settings, now) == []
        with fast_rt.sessions() as session:
            assert schedule.freshness(session, alice.id, fast_rt.settings).next_run_at > now
        RunRecorder(fast_rt.sessions, cron.id).finish(SyncRunState.FINISHED)
    # the schedule's run is waiting: cron is refused
    set_schedule(fast_rt, alice.id, schedule.Schedule(schedule.EVERY, 15), next_at=utcnow())
    [queued] = schedule.queue_due(fast_rt.sessions, fast_rt.settings)
    with pytest.raises(runs.RunInProgress) as busy:
        runs.start_run(fast_rt.sessions, alice.id, trigger=runs.Trigger.CRON, triggered_by="cron")
    assert busy.value.run is not None and busy.value.run.id == queued
    with fast_rt.sessions() as session:
        active = [run for run in runs.recent_runs(session, alice.id) if run.active]
    assert [run.trigger for run in active] == [runs.Trigger.SCHEDULE]


def test_a_sync_switched_off_or_cron_only_is_not_scheduled(fast_rt, vk_goods):
    alice = make_user(fast_rt, "alice")
    ready_for_goods(fast_rt, alice, vk_goods)
    set_schedule(fast_rt, alice.id, schedule.Schedule(schedule.OFF), next_at=utcnow())
    assert schedule.queue_due(fast_rt.sessions, fast_rt.settings) == []
    service.switch_off(fast_rt, alice.id)
    set_schedule(fast_rt, alice.id, schedule.Schedule(schedule.EVERY, 15), next_at=utcnow())
    assert schedule.queue_due(fast_rt.sessions, fast_rt.settings) == []
    assert all_runs(fast_rt) == []


# ----------------------------------------------------------------------------- freshness


def test_freshness_is_twice_the_interval_or_a_day_from_cron(fast_rt, vk_goods):
    alice = make_user(fast_rt, "alice")
    ready_for_goods(fast_rt, alice, vk_goods)
    set_schedule(fast_rt, alice.id, schedule.Schedule(schedule.EVERY, 60))
    with runs.start_run(fast_rt.sessions, alice.id, trigger=runs.Trigger.CRON, triggered_by="cron") as active:
        RunRecorder(fast_rt.sessions, active.id).finish(SyncRunState.FINISHED)
    [run] = all_runs(fast_rt)
    limit = 2 * 60 * timedelta(seconds=MINUTE)
    with fast_rt.sessions() as session:
        assert schedule.freshness(session, alice.id, fast_rt.settings, run.finished_at).fresh is True
        late = run.finished_at + limit + timedelta(seconds=1)
        stale = schedule.freshness(session, alice.id, fast_rt.settings, late)
    assert stale.fresh is False and stale.last_success_at == run.finished_at
    set_schedule(fast_rt, alice.id, schedule.Schedule(schedule.OFF))
    with fast_rt.sessions() as session:
        cron = schedule.freshness(session, alice.id, fast_rt.settings, run.finished_at + timedelta(hours=23))
        cron_late = schedule.freshness(session, alice.id, fast_rt.settings, run.finished_at + timedelta(hours=25))
    assert (cron.fresh, cron.next_run_at, cron_late.fresh) == (True, None, False)


def test_read_config_reports_freshness_and_the_next_run(fast_rt, vk_goods):
    alice = make_user(fast_rt, "alice")
    ready_for_goods(fast_rt, alice, vk_goods)
    set_schedule(fast_rt, alice.id, schedule.Schedule(schedule.EVERY, 30))
    data = readout.read(fast_rt, alice.email, with_tokens=False).data
    assert data["schedule"] == "каждые 30 мин"
    assert data["fresh"] is True and data["last_success_at"] is None  # just confirmed: not yet overdue
    assert datetime.fromisoformat(data["next_run_at"]) > utcnow()
    json.dumps(data)


# ----------------------------------------------------------------------------- recovery


def test_after_a_kill_the_schedule_and_the_page_start_within_10_s_and_the_journal_says_interrupted(
        fast_rt, vk_goods, tmp_path):
    alice = make_user(fast_rt, "alice")
    ready_for_goods(fast_rt, alice, vk_goods)
    set_schedule(fast_rt, alice.id, schedule.Schedule(schedule.OFF))
    killed_at = kill_run_at(fast_rt, alice.email, "Проверка настроек", str(tmp_path))
    # The page: «Синхронизировать сейчас» is accepted as soon as the dead process's lock is gone
    # (PostgreSQL frees its advisory lock when the server sees the connection close).
    wait_until(lambda: service.ask_for_run(fast_rt, alice.id, who=alice.email, dry_run=True),
               "the page's request to be accepted after the kill")
    assert utcnow() - killed_at < ACCEPT_WITHIN
    # The schedule: due now, queued behind the page's request and started by the sidecar.
    set_schedule(fast_rt, alice.id, schedule.Schedule(schedule.EVERY, 15), next_at=utcnow())
    worker = sync_worker(fast_rt, threading.Event())

    def both_started() -> bool:
        started = [run for run in all_runs(fast_rt)[1:] if run.started_at is not None]
        return len(started) >= 2 and all(run.state == SyncRunState.FINISHED for run in started[:2])

    wait_until(both_started, "the page's and the schedule's runs to start after the kill", tick=worker.tick)
    worker.join(DEADLINE)
    dead, page, scheduled = all_runs(fast_rt)[:3]
    assert dead.state == SyncRunState.FAILED and texts.state_label(dead.state) == "Прервано"
    assert (page.trigger, scheduled.trigger) == (runs.Trigger.PAGE, runs.Trigger.SCHEDULE)
    assert page.started_at is not None and page.started_at - killed_at < ACCEPT_WITHIN
    with fast_rt.sessions() as session:
        reasons = [event.details.get("reason", "") for event in session.scalars(
            select(JournalEvent).where(JournalEvent.user_id == alice.id, JournalEvent.kind == "sync.run_failed"))]
    assert any(reason.startswith("Прервано") for reason in reasons), reasons
