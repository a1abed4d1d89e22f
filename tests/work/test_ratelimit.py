"""VK's 3 requests a second per token, held across processes by the database (issue 19)."""

from __future__ import annotations

import subprocess
import sys

from connhub import ratelimit
from connhub.config import PROJECT_ROOT
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
