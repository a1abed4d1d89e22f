"""VK's 3 requests a second per token, held across processes by the database (issue 19)."""

from __future__ import annotations

import subprocess
import sys
import threading

from connhub import ratelimit
from connhub.config import PROJECT_ROOT
from connhub.models import RateBucket
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
