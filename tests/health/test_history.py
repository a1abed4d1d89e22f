"""Health history: rollups per hour and per day, their windows, and what the pages read of them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, func, select, true

from connhub.health import prune_history
from connhub.health.history import HistoryWorker, roll_up
from connhub.health.history_views import card_histories, histories, run_history, service_history
from connhub.models import CheckRecord, CheckRollup, Connection, Outcome, RollupPeriod, Status, SyncRun
from tests.support.history import add_checks, bare_connections

NOW = datetime(2026, 3, 6, 11, 40, tzinfo=UTC)
HOUR = timedelta(hours=1)
OK, TROUBLE, REJECTED = Outcome.OK, Outcome.TROUBLE, Outcome.REJECTED
ONLINE, OFFLINE, RECONNECT = Status.ONLINE, Status.OFFLINE, Status.RECONNECT


def rollups(rt, period: RollupPeriod) -> dict[tuple[int, datetime], CheckRollup]:
    with rt.sessions() as session:
        rows = session.scalars(select(CheckRollup).where(CheckRollup.period == period)).all()
        session.expunge_all()
    return {(row.connection_id, row.bucket_start): row for row in rows}


def test_an_hour_rolls_up_its_checks_failures_worst_status_and_latency_percentiles(db_rt):
    (first, second) = bare_connections(db_rt, "u", 2)
    ten = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
    # 100 checks in the 10:00 hour with latencies 1..100 ms; two failed, one left it offline.
    checks = [(ten + timedelta(seconds=30 * n), OK, ONLINE, n + 1) for n in range(100)]
    checks[40] = (checks[40][0], TROUBLE, ONLINE, 41)
    checks[41] = (checks[41][0], TROUBLE, OFFLINE, 42)
    add_checks(db_rt, first, checks)
    add_checks(db_rt, second, [(ten + timedelta(minutes=5), REJECTED, RECONNECT, None),
                               (ten + timedelta(hours=1, minutes=5), OK, ONLINE, 300)])
    stats = roll_up(db_rt.sessions, raw_days=7, rollup_days=90, now=NOW)
    assert stats.records == 102
    hours = rollups(db_rt, RollupPeriod.HOUR)
    hour = hours[(first, ten)]
    assert (hour.checks, hour.failures, hour.worst_status, hour.p50_ms, hour.p95_ms) == (100, 2, "offline", 50, 95)
    assert hours[(second, ten)].worst_status == "reconnect" and hours[(second, ten)].p50_ms is None
    assert hours[(second, ten + HOUR)].worst_status == "online"  # the current hour is rolled up too
    day = rollups(db_rt, RollupPeriod.DAY)[(second, datetime(2026, 3, 6, tzinfo=UTC))]
    assert (day.checks, day.failures, day.worst_status, day.p50_ms, day.p95_ms) == (2, 1, "reconnect", 300, 300)


def test_a_check_written_after_its_hour_was_rolled_up_is_counted_by_the_next_tick(db_rt):
    (cid,) = bare_connections(db_rt, "u", 1)
    add_checks(db_rt, cid, [(NOW - timedelta(minutes=50), OK, ONLINE, 10)])  # 10:50
    roll_up(db_rt.sessions, raw_days=7, rollup_days=90, now=NOW)
    add_checks(db_rt, cid, [(NOW - timedelta(minutes=45), TROUBLE, OFFLINE, 20)])  # written late, into 10:00
    later = NOW + timedelta(minutes=30)  # 12:10: the newest rolled-up hour is 11:00
    add_checks(db_rt, cid, [(later - timedelta(minutes=5), OK, ONLINE, 30)])
    roll_up(db_rt.sessions, raw_days=7, rollup_days=90, now=later)
    hour = rollups(db_rt, RollupPeriod.HOUR)[(cid, datetime(2026, 3, 6, 10, tzinfo=UTC))]
    assert (hour.checks, hour.failures, hour.worst_status) == (2, 1, "offline")
    assert rollups(db_rt, RollupPeriod.DAY)[(cid, datetime(2026, 3, 6, tzinfo=UTC))].checks == 3


def test_rollups_outlive_the_raw_window_and_are_pruned_after_theirs(db_rt):
    (cid,) = bare_connections(db_rt, "u", 1)
    add_checks(db_rt, cid, [(NOW - timedelta(days=3), OK, ONLINE, 5)])
    roll_up(db_rt.sessions, raw_days=7, rollup_days=90, now=NOW)
    # Ten days on the raw record is past its window and pruned; its rollups stay.
    later = NOW + timedelta(days=10)
    assert prune_history(db_rt, now=later) == 1
    roll_up(db_rt.sessions, raw_days=7, rollup_days=90, now=later)
    assert len(rollups(db_rt, RollupPeriod.HOUR)) == 1 and len(rollups(db_rt, RollupPeriod.DAY)) == 1
    # Ninety days on they are pruned too.
    stats = roll_up(db_rt.sessions, raw_days=7, rollup_days=90, now=NOW + timedelta(days=92))
    assert stats.pruned == 2
    assert rollups(db_rt, RollupPeriod.HOUR) == {} and rollups(db_rt, RollupPeriod.DAY) == {}


def test_one_housekeeping_prunes_every_raw_record_past_the_window_however_many(rt):
    """The raw table stays bounded: 12,000 old records (more than one batch) all go in one pass."""
    (cid,) = bare_connections(rt, "u", 1)
    add_checks(rt, cid, [(NOW - timedelta(days=8, seconds=n), OK, ONLINE, 1) for n in range(12_000)])
    add_checks(rt, cid, [(NOW - timedelta(days=6), OK, ONLINE, 1)])
    assert prune_history(rt, now=NOW) == 12_000
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CheckRecord)) == 1


def test_the_raw_window_is_a_setting(make_rt):
    rt = make_rt(HISTORY_RAW_DAYS=3)
    (cid,) = bare_connections(rt, "u", 1)
    add_checks(rt, cid, [(NOW - timedelta(days=4), OK, ONLINE, 1), (NOW - timedelta(days=2), OK, ONLINE, 1)])
    assert prune_history(rt, now=NOW) == 1


def test_a_deleted_connection_takes_its_rollups_and_is_skipped_by_a_roll_up_in_flight(rt):
    first, second = bare_connections(rt, "u", 2)
    add_checks(rt, first, [(NOW - HOUR, OK, ONLINE, 5)])
    add_checks(rt, second, [(NOW - HOUR, OK, ONLINE, 5)])
    roll_up(rt.sessions, raw_days=7, rollup_days=90, now=NOW)
    with rt.sessions() as session:
        session.delete(session.get(Connection, first))
        session.commit()
    assert {cid for cid, _ in rollups(rt, RollupPeriod.HOUR)} == {second}
    roll_up(rt.sessions, raw_days=7, rollup_days=90, now=NOW)
    assert {cid for cid, _ in rollups(rt, RollupPeriod.DAY)} == {second}


def test_two_sidecars_rolling_up_at_once_leave_one_correct_set_of_rollups(db_rt):
    first, second = bare_connections(db_rt, "u", 2)
    for cid in (first, second):
        add_checks(db_rt, cid, [(NOW - timedelta(minutes=10 * n), OK, ONLINE, 10 + n) for n in range(60)])
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def sidecar() -> None:
        start.wait(timeout=30)
        try:
            roll_up(db_rt.sessions, raw_days=7, rollup_days=90, now=NOW)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=sidecar) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    hours = rollups(db_rt, RollupPeriod.HOUR)
    assert sum(row.checks for row in hours.values()) == 120 and len(hours) == 2 * 11
    assert sum(row.checks for row in rollups(db_rt, RollupPeriod.DAY).values()) == 120


def test_the_worker_rolls_up_with_the_settings(make_rt):
    rt = make_rt(HISTORY_ROLLUP_DAYS=31)
    (cid,) = bare_connections(rt, "u", 1)
    add_checks(rt, cid, [(datetime.now(UTC) - timedelta(minutes=1), OK, ONLINE, 7)])
    worker = HistoryWorker(rt)
    worker.tick()
    worker.join(timeout=60)
    assert [row.p50_ms for row in rollups(rt, RollupPeriod.HOUR).values()] == [7]


# ----------------------------------------------------------------------------- what the pages read

def test_a_card_has_24_hours_coloured_by_their_worst_status_and_30_day_availability(db_rt):
    first, second = bare_connections(db_rt, "u", 2)
    add_checks(db_rt, first, [
        (NOW - timedelta(hours=30), OK, ONLINE, 10),  # before the bar, in the availability
        (NOW - timedelta(hours=5), TROUBLE, OFFLINE, 900), (NOW - timedelta(hours=5, minutes=-1), OK, OFFLINE, 20),
        (NOW - timedelta(hours=3), OK, ONLINE, 10),
    ])
    roll_up(db_rt.sessions, raw_days=7, rollup_days=90, now=NOW)
    add_checks(db_rt, first, [(NOW - timedelta(minutes=1), REJECTED, RECONNECT, None)])  # not rolled up yet
    with db_rt.sessions() as session:
        user_id = session.get(Connection, first).user_id
        bars = card_histories(session, user_id, now=NOW)
    card = bars[first]
    assert len(card.hours) == 24 and card.hours[-1].start == datetime(2026, 3, 6, 11, tzinfo=UTC)
    by_start = {segment.start: segment for segment in card.hours}
    six = by_start[datetime(2026, 3, 6, 6, tzinfo=UTC)]
    assert (six.checks, six.failures, six.worst, six.p95_ms) == (2, 1, OFFLINE, 900)
    assert by_start[datetime(2026, 3, 6, 8, tzinfo=UTC)].worst is ONLINE
    assert card.hours[-1].worst is RECONNECT  # the current hour, straight from the raw records
    assert by_start[datetime(2026, 3, 6, 7, tzinfo=UTC)].worst is None  # no check: a grey segment
    assert card.checks == 4 and card.availability == 0.75  # the daily rollups, as of the last roll-up
    assert second not in bars  # never checked: the page draws an empty bar


def test_the_service_page_reads_a_week_of_latency_scoped_to_the_user(db_rt):
    (cid,) = bare_connections(db_rt, "u", 1)
    (other,) = bare_connections(db_rt, "v", 1, providers=("vk",))
    add_checks(db_rt, cid, [(NOW - timedelta(days=5), OK, ONLINE, 123)])
    roll_up(db_rt.sessions, raw_days=7, rollup_days=90, now=NOW)
    with db_rt.sessions() as session:
        owner = session.get(Connection, cid).user_id
        mine = service_history(session, owner, cid, now=NOW)
        theirs = service_history(session, session.get(Connection, other).user_id, cid, now=NOW)
    assert len(mine.week) == 7 * 24 and len(mine.day.hours) == 24
    assert [segment.p50_ms for segment in mine.week if segment.checks] == [123]
    assert not any(segment.checks for segment in theirs.week) and theirs.day.availability is None


def count_statements(rt, work) -> int:
    """The SELECT statements `work` sends (the driver's own set-up statements aside)."""
    seen: list[str] = []

    def on_execute(*args: object) -> None:
        if str(args[2]).lstrip().upper().startswith("SELECT"):
            seen.append(str(args[2]))

    event.listen(rt.engine, "before_cursor_execute", on_execute)
    try:
        work()
    finally:
        event.remove(rt.engine, "before_cursor_execute", on_execute)
    return len(seen)


def test_the_number_of_statements_does_not_grow_with_the_connections(db_rt):
    """10 connections or 100: the same statements (never one per connection or per hour)."""
    counts = []
    for total in (10, 100):
        ids = bare_connections(db_rt, f"n{total}", total - (len(counts) and 10))
        for cid in ids:
            add_checks(db_rt, cid, [(NOW - timedelta(hours=h), OK, ONLINE, 10) for h in range(0, 30, 3)])
        roll_up(db_rt.sessions, raw_days=7, rollup_days=90, now=NOW)

        def read(expected: int = total) -> None:
            with db_rt.sessions() as session:
                assert len(histories(session, true(), now=NOW)) == expected

        counts.append(count_statements(db_rt, read))
    assert counts[0] == counts[1] == 3


def test_the_runs_bar_lists_finished_runs_oldest_first(rt):
    (cid,) = bare_connections(rt, "u", 1)
    with rt.sessions() as session:
        user_id = session.get(Connection, cid).user_id
        for n, state in enumerate(["finished", "stopped", "failed", "running"]):
            session.add(SyncRun(user_id=user_id, trigger="cron", state=state, requested_at=NOW + n * HOUR,
                                started_at=NOW + n * HOUR, duration_ms=1000 * (n + 1),
                                finished_at=None if state == "running" else NOW + n * HOUR))
        session.commit()
        points = run_history(session, user_id)
    assert [(point.state, point.duration_ms) for point in points] == [
        ("finished", 1000), ("stopped", 2000), ("failed", 3000)]


def test_rolling_up_a_few_connections_at_a_time_gives_the_same_rollups(db_rt):
    ids = bare_connections(db_rt, "u", 5)
    ten = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
    for n, cid in enumerate(ids):
        add_checks(db_rt, cid, [(ten + timedelta(minutes=m), OK if m % 3 else TROUBLE, ONLINE, 10 * m + n)
                                for m in range(1, 7)])
    whole = roll_up(db_rt.sessions, raw_days=7, rollup_days=90, now=NOW, chunk=len(ids))
    expected = {key: (row.checks, row.failures, row.p50_ms, row.p95_ms)
                for key, row in rollups(db_rt, RollupPeriod.HOUR).items()}
    with db_rt.sessions() as session:
        session.execute(CheckRollup.__table__.delete())
        session.commit()
    chunked = roll_up(db_rt.sessions, raw_days=7, rollup_days=90, now=NOW, chunk=2)  # three transactions
    assert (chunked.records, chunked.rollups) == (whole.records, whole.rollups) == (30, 10)
    assert {key: (row.checks, row.failures, row.p50_ms, row.p95_ms)
            for key, row in rollups(db_rt, RollupPeriod.HOUR).items()} == expected
