"""VK's 3 requests a second per token, held across processes by the database (issue 19)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta

from sqlalchemy import update

from connhub import oauth, ratelimit
from connhub.config import PROJECT_ROOT
from connhub.models import Connection, RateBucket, utcnow
from tests.support.connect import make_user
from tests.support.sandbox import process_env
from tests.work.procs import DEADLINE

CALLS = 9  # each process alone keeps within the limit; together, unshared, they would not


def test_two_processes_on_one_token_never_get_error_6(make_rt, database_url, vk_goods):
    rt = make_rt(DATABASE_URL=database_url)
    token = vk_goods.user_token()
    vk_goods.reset_stats()
    procs = [subprocess.Popen([sys.executable, "-m", "tests.work.vk_caller", token, str(CALLS)], cwd=PROJECT_ROOT,
                              env=process_env(rt), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        answers = [proc.communicate(timeout=DEADLINE)[0].split() for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert answers == [["done", str(CALLS), "0"]] * 2
    stats = vk_goods.stats()
    assert stats["rejected_for_rate"] == 0 and stats["calls"].get("groups.get") == 2 * CALLS


def test_the_shared_schedule_spaces_one_keys_turns(make_rt):
    rt = make_rt()
    waits: list[float] = []
    turns = [ratelimit.wait_turn("vk:test", 0.5, sleep=waits.append) for _ in range(3)]
    assert turns[0] == 0.0 and turns[1:] == waits  # the first turn is now; each next one waits
    assert 0.4 < waits[0] <= 0.5 and 0.9 < waits[1] <= 1.0
    assert ratelimit.wait_turn("vk:other", 0.5, sleep=waits.append) == 0.0  # another token has its own schedule
    rt.close()
    assert ratelimit.wait_turn("vk:test", 0.5, sleep=waits.append) == 0.0  # no database installed: local only



def test_turns_asked_at_once_by_many_threads_are_one_schedule(make_rt):
    """A process's turns are written in batches (group commit); each turn still gets its own slot of
    the shared schedule, spaced exactly as turns taken one by one."""
    rt = make_rt()
    spacing, threads = 0.25, 24
    assert ratelimit.wait_turn("vk:many", spacing) == 0.0
    with rt.sessions() as session:
        first = session.get(RateBucket, "vk:many")
        assert first is not None
        first_slot = first.slot_at
    waits: list[float] = []
    start = threading.Barrier(threads)

    def ask() -> None:
        start.wait()
        ratelimit.wait_turn("vk:many", spacing, sleep=waits.append)  # the wait is recorded, not slept

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with rt.sessions() as session:
        bucket = session.get(RateBucket, "vk:many")
        assert bucket is not None
        assert abs(bucket.next_at - (first_slot + (threads + 1) * spacing)) < 1e-6  # one turn per ask
    assert len(waits) == threads
    ordered = sorted(waits)
    gaps = [later - earlier for earlier, later in zip(ordered, ordered[1:], strict=False)]
    assert all(spacing - 0.1 < gap <= spacing + 1e-6 for gap in gaps)  # no two asks share a slot


def test_reserved_turns_are_taken_together_and_used_by_the_calls(make_rt):
    """The checker reserves the turns of the checks it claimed in one transaction; each call then
    uses its turn instead of writing one of its own, and the key's schedule moves on by the turn's
    spacing plus the time it may still be used, so a late call never crowds the next turn."""
    rt = make_rt()
    spacing = 0.25
    assert ratelimit.reserve([("vk:a", spacing), ("vk:b", spacing), ("vk:a", spacing)]) == 3
    with rt.sessions() as session:
        a, b = session.get(RateBucket, "vk:a"), session.get(RateBucket, "vk:b")
        assert a is not None and b is not None
        held = spacing + ratelimit.RESERVED_HOLD
        assert abs(a.next_at - (a.slot_at + 2 * held)) < 1e-6  # two turns of "vk:a"
        assert abs(b.next_at - (b.slot_at + held)) < 1e-6
        reserved_schedule = (a.next_at, b.next_at)
    waits: list[float] = []
    assert ratelimit.wait_turn("vk:b", spacing, sleep=waits.append) == 0.0  # its reserved turn, now
    assert ratelimit.wait_turn("vk:a", spacing, sleep=waits.append) == 0.0
    second = ratelimit.wait_turn("vk:a", spacing, sleep=waits.append)  # the second reserved turn, later
    assert held - 0.1 < second <= held
    with rt.sessions() as session:
        a, b = session.get(RateBucket, "vk:a"), session.get(RateBucket, "vk:b")
        assert a is not None and b is not None
        assert (a.next_at, b.next_at) == reserved_schedule  # the calls wrote nothing
    fresh = ratelimit.wait_turn("vk:b", spacing, sleep=waits.append)  # no reserved turn left: a new one
    assert held - 0.1 < fresh <= held  # after the reserved turn and its hold


def test_a_reserved_turn_not_used_in_time_is_dropped(make_rt, monkeypatch):
    rt = make_rt()
    spacing = 0.25
    assert ratelimit.reserve([("vk:late", spacing)]) == 1
    later = time.monotonic() + ratelimit.RESERVED_HOLD + 1
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: later)
    waits: list[float] = []
    ratelimit.wait_turn("vk:late", spacing, sleep=waits.append)
    with rt.sessions() as session:
        bucket = session.get(RateBucket, "vk:late")
        assert bucket is not None
        # the call took a turn of its own, after the one it no longer could use
        assert abs(bucket.next_at - (bucket.slot_at + spacing)) < 1e-6
        assert bucket.slot_at >= bucket.clock_at


def test_a_checker_cycle_beside_a_process_using_the_same_token_gets_no_error_6(make_rt, database_url, vk_goods):
    """The checks' turns, reserved together by the cycle, are turns of the same shared schedule: a
    process calling VK as fast as the limit allows on the token being checked sees no error 6."""
    rt = make_rt(DATABASE_URL=database_url)
    token = vk_goods.user_token()
    for n in range(6):  # six connections of one token: six turns of one key in one claim
        result = oauth.connect_with_token(rt, user_id=make_user(rt, f"shared-{n}").id, provider="vk", raw_token=token)
        assert result.ok, result.message
    with rt.sessions() as session:
        session.execute(update(Connection).values(next_check_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    vk_goods.reset_stats()
    calls = 2 * CALLS  # six seconds at the limit: the checker starts and checks meanwhile
    caller = subprocess.Popen([sys.executable, "-m", "tests.work.vk_caller", token, str(calls)], cwd=PROJECT_ROOT,
                              env=process_env(rt), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert caller.stdout is not None and caller.stdout.readline().strip() == "ready"
        assert caller.stdin is not None
        caller.stdin.write("go\n")
        caller.stdin.flush()
        checker = subprocess.run([sys.executable, "checker.py", "--once"], cwd=PROJECT_ROOT, env=process_env(rt),
                                 capture_output=True, text=True, timeout=DEADLINE)
        answer = caller.communicate(timeout=DEADLINE)[0].split()
    finally:
        if caller.poll() is None:
            caller.kill()
    assert checker.returncode == 0, checker.stderr
    assert "cycle: checked=6 written=6" in checker.stderr
    assert answer == ["done", str(calls), "0"]
    stats = vk_goods.stats()
    assert stats["rejected_for_rate"] == 0 and stats["calls"].get("users.get") == 6
