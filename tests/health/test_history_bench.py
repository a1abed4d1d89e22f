"""bench/history.py runs at a tiny size and prints the figures the README quotes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from connhub.config import PROJECT_ROOT


@pytest.mark.timeout(600)
def test_the_history_bench_runs_tiny_and_prints_its_figures(tmp_path):
    done = subprocess.run([sys.executable, str(PROJECT_ROOT / "bench" / "history.py"), "--connections", "10",
                           "--days", "3", "--repeat", "2"], capture_output=True, text=True, timeout=540,
                          cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "seeded 10 connections" in out
    assert "dashboard rerun:" in out and "(constant)" in out
    assert "history of all 9 connections at once:" in out and "3 SELECT statements" in out
    assert "bytes per connection per day: rollups" in out
