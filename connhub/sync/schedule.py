"""The sync's own schedule (issue 17): when the next run is due, queueing due runs, freshness.

A user's schedule is «every N minutes» (15 min … 12 h), «daily at HH:MM» in the user's time
zone, or off (cron only). `schedule_next_at` on the configuration is the next due moment; the
sidecar's sync worker calls `queue_due` each tick, which turns every due schedule into a
*requested run* (trigger «по расписанию», `requested_at` = the due moment) claimed by the same
path as a run requested on the page. The one-active-run index makes cron and the schedule never
overlap: a due moment that finds a run going is skipped, and the next one is planned.

`Settings.SYNC_SCHEDULE_MINUTE_SECONDS` is how long an interval's «minute» lasts (60; tests and
the lateness bench shorten it, so no one sleeps for a quarter of an hour).

Freshness (after Fivetran's `fresh`): the sync is «устарела» when no run finished successfully
within twice its interval (a day for a daily schedule: two days), or 24 h when it runs only
from cron; counted from the confirmation while it never succeeded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from connhub.db import execute_write
from connhub.models import SyncConfig, SyncRun, SyncRunState, utcnow
from connhub.sync.texts import TRIGGER_SCHEDULE

if TYPE_CHECKING:
    from connhub.config import Settings

log = logging.getLogger(__name__)

EVERY, DAILY, OFF = "every", "daily", "off"
INTERVALS = (15, 30, 60, 180, 360, 720)  # minutes
DEFAULT_MINUTES = 60
DEFAULT_AT = "03:00"
DEFAULT_TZ = "Europe/Moscow"
CRON_ONLY_LIMIT = timedelta(hours=24)
# A scheduled run refreshes a catalog copy older than its interval, but never one younger than this
# (it matters only when SYNC_SCHEDULE_MINUTE_SECONDS shortens the intervals).
CATALOG_AGE_FLOOR = timedelta(minutes=5)
SCHEDULED_BY = "расписание"


class InvalidSchedule(ValueError):
    """The schedule's fields are wrong; the message is Russian."""


@dataclass(frozen=True)
class Schedule:
    mode: str = EVERY
    minutes: int = DEFAULT_MINUTES
    at: str = DEFAULT_AT  # HH:MM, for DAILY
    tz: str = DEFAULT_TZ

    @property
    def on(self) -> bool:
        return self.mode != OFF


def of(row: SyncConfig | None) -> Schedule:
    if row is None:
        return Schedule()
    return Schedule(row.schedule_mode or EVERY, int(row.schedule_minutes or DEFAULT_MINUTES),
                    row.schedule_at or DEFAULT_AT, row.schedule_tz or DEFAULT_TZ)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def parse(mode: object, minutes: object = DEFAULT_MINUTES, at: object = DEFAULT_AT,
          tz: object = DEFAULT_TZ) -> Schedule:
    """The page's fields as a Schedule; InvalidSchedule (Russian) when one is wrong."""
    mode = str(mode)
    if mode not in (EVERY, DAILY, OFF):
        raise InvalidSchedule("Выберите, как запускать синхронизацию: по интервалу, раз в сутки или только из cron")
    try:
        every = int(str(minutes))
    except ValueError:
        raise InvalidSchedule(f"Непонятный интервал: «{minutes}»") from None
    if every not in INTERVALS:
        raise InvalidSchedule("Интервал: выберите одно из: " + ", ".join(interval_text(m) for m in INTERVALS))
    hours, _, minutes_of_hour = str(at).strip().partition(":")
    try:
        moment = time(int(hours), int(minutes_of_hour))
    except ValueError:
        raise InvalidSchedule(f"Время запуска — часы и минуты, например 03:00, а не «{at}»") from None
    return Schedule(mode, every, moment.strftime("%H:%M"), _zone(str(tz)).key)


def interval_text(minutes: int) -> str:
    """«15 мин», «1 ч», «12 ч»."""
    return f"{minutes // 60} ч" if minutes % 60 == 0 else f"{minutes} мин"


def describe(schedule: Schedule) -> str:
    """«каждые 30 мин», «раз в сутки в 03:00», «только из cron (run/sync.sh)»."""
    if schedule.mode == DAILY:
        return f"раз в сутки в {schedule.at}"
    if schedule.mode == EVERY:
        return "каждый час" if schedule.minutes == 60 else f"каждые {interval_text(schedule.minutes)}"
    return "только из cron (run/sync.sh)"


def minute_of(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.SYNC_SCHEDULE_MINUTE_SECONDS)


def period(schedule: Schedule, minute: timedelta) -> timedelta | None:
    """The time between two runs; None when the schedule is off."""
    if schedule.mode == EVERY:
        return schedule.minutes * minute
    if schedule.mode == DAILY:
        return timedelta(days=1)
    return None


def next_after(schedule: Schedule, moment: datetime, minute: timedelta) -> datetime | None:
    """The first due moment after `moment` (None: off)."""
    if schedule.mode == EVERY:
        return moment + schedule.minutes * minute
    if schedule.mode == DAILY:
        zone = _zone(schedule.tz)
        local = moment.astimezone(zone)
        at = time.fromisoformat(schedule.at)
        day = local.date()
        while True:
            candidate = datetime.combine(day, at, tzinfo=zone)
            if candidate > local:
                return candidate.astimezone(moment.tzinfo)
            day += timedelta(days=1)
    return None


def apply(row: SyncConfig, schedule: Schedule, now: datetime, minute: timedelta) -> None:
    """Write a schedule to the configuration row and plan its next run from now (no commit)."""
    row.schedule_mode, row.schedule_minutes = schedule.mode, schedule.minutes
    row.schedule_at, row.schedule_tz = schedule.at, schedule.tz
    row.schedule_next_at = next_after(schedule, now, minute)


# ----------------------------------------------------------------------------- the sidecar's side


def _due(session: Session, now: datetime) -> list[int]:
    return list(session.scalars(select(SyncConfig.user_id).where(
        SyncConfig.enabled.is_(True), SyncConfig.confirmed_at.is_not(None), SyncConfig.schedule_mode != OFF,
        or_(SyncConfig.schedule_next_at.is_(None), SyncConfig.schedule_next_at <= now))
        .order_by(SyncConfig.schedule_next_at)))


def _queue_one(session: Session, user_id: int, now: datetime, minute: timedelta) -> int | None:
    row = session.scalar(select(SyncConfig).where(SyncConfig.user_id == user_id).with_for_update())
    if row is None or not row.enabled or row.confirmed_at is None or row.schedule_mode == OFF:
        return None
    schedule, due = of(row), row.schedule_next_at
    if due is not None and due > now:
        return None  # another sidecar planned it meanwhile
    if due is None or due <= row.confirmed_at:  # just switched on: the first run is one interval away
        row.schedule_next_at = next_after(schedule, now, minute)
        return None
    row.schedule_next_at = next_after(schedule, now, minute)  # missed moments are not made up
    try:
        with session.begin_nested():
            run = SyncRun(user_id=user_id, trigger=TRIGGER_SCHEDULE, triggered_by=SCHEDULED_BY,
                          state=SyncRunState.REQUESTED, requested_at=due, phase="Ожидает запуска")
            session.add(run)
    except IntegrityError:  # uq_sync_runs_active: cron, the page or a person runs it right now
        log.info("scheduled sync of user %s skipped: a run is already active", user_id)
        return None
    return run.id


def queue_due(sessions: sessionmaker[Session], settings: Settings, now: datetime | None = None) -> list[int]:
    """Turn every due schedule into a requested run; the ids of the runs queued."""
    now = now or utcnow()
    minute = minute_of(settings)
    with sessions() as session:
        users = _due(session, now)
    queued: list[int] = []
    for user_id in users:
        run_id = execute_write(sessions, partial(_queue_one, user_id=user_id, now=now, minute=minute))
        if run_id is not None:
            queued.append(run_id)
    return queued


# ----------------------------------------------------------------------------- freshness


@dataclass(frozen=True)
class Freshness:
    schedule: Schedule
    last_success_at: datetime | None
    next_run_at: datetime | None  # None: the schedule is off (or the sync is)
    fresh: bool | None  # None: the sync is off
    limit: timedelta  # older than this is «устарела»


def last_success(session: Session, user_id: int) -> datetime | None:
    return session.scalar(select(func.max(SyncRun.finished_at)).where(
        SyncRun.user_id == user_id, SyncRun.state == SyncRunState.FINISHED, SyncRun.dry_run.is_(False)))


def freshness(session: Session, user_id: int, settings: Settings, now: datetime | None = None) -> Freshness:
    now = now or utcnow()
    row = session.scalar(select(SyncConfig).where(SyncConfig.user_id == user_id))
    schedule = of(row)
    every = period(schedule, minute_of(settings))
    limit = 2 * every if every is not None else CRON_ONLY_LIMIT
    success = last_success(session, user_id)
    if row is None or not row.enabled or row.confirmed_at is None:
        return Freshness(schedule, success, None, None, limit)
    next_at = row.schedule_next_at if schedule.on else None
    if schedule.on and next_at is None:
        next_at = next_after(schedule, now, minute_of(settings))
    fresh = now - (success if success is not None else row.confirmed_at) <= limit
    return Freshness(schedule, success, next_at, fresh, limit)
