"""Every script under bench/ runs, at a tiny size, as its own process: a benchmark can no longer rot.

Each runs with arguments that make it quick (a few products or connections, no injected latency)
and must exit 0 and print its figures. The figures' values are not judged here (a loaded machine
moves them); that the script still measures what the README quotes is. Covered here:
bench/catalog.py, bench/checker.py, bench/history.py, bench/hostile.py, bench/overview.py,
bench/photos.py, bench/schedule.py, bench/sync.py, bench/sync_users.py and bench/vk_goods.py
(`test_every_bench_script_is_covered` fails on a script missing from TINY).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from connhub.config import PROJECT_ROOT

BENCH = PROJECT_ROOT / "bench"
DEADLINE_SECONDS = 600  # one script at a tiny size on a loaded 2-core machine, never approached when healthy


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# script -> (tiny arguments, patterns its output must contain: the figures the README quotes)
TINY: dict[str, tuple[list[str], list[str]]] = {
    "checker.py": (["--connections", "20", "--sample", "4", "--latency-ms", "0", "--sandbox-port", "{port}"],
                   [r"seeded 20 connections", r"\d+ checks/s"]),
    "catalog.py": (["--large", "300", "--repeat", "1"],
                   [r"refresh", r"\d+(\.\d+)? ms"]),
    "sync.py": (["--products", "8", "--changes", "2", "--albums", "--stock", "--groups", "2", "--variants"],
                [r"first run \(8 products, albums, stock, variants\): finished",
                 r"albums made 2 \(addToAlbum calls 2\)",
                 r"properties made 2, variants made 4, groupItems calls 2",
                 r"second run \(nothing changed\): .* 0 write calls",
                 r"2 prices changed: .* 2 market\.edit calls", r"targets met"]),
    "schedule.py": (["--runs", "2", "--products", "3"],
                    [r"2 scheduled runs every 0\.30 s .*lateness due → start median \d+\.\d+ s"]),
    "vk_goods.py": (["--products", "6"],
                    [r"\d+ requests"]),
    "sync_users.py": (["--users", "2", "--products", "3", "--concurrency", "2"],
                      [r"one user alone \(3 products with photos\): [\d.]+ s",
                       r"2 users × 3 products, all requested at once, 1 sidecar\(s\) .* error 6: 0",
                       r"peak RSS \d+ MB", r"all runs finished once"]),
    "photos.py": (["--images", "3", "--image-bytes", "100000"],
                  [r"3 images of 100000 bytes: exit 0, peak RSS \d+ MB, 3 items, 3 with a photo"]),
    "overview.py": (["--users", "20", "--repeat", "2", "--no-page"],
                    [r"users: 20", r"\d+"]),
    "history.py": (["--connections", "10", "--days", "3", "--repeat", "2"],
                   [r"dashboard rerun", r"bytes per connection per day"]),
    "hostile.py": ([], [r"row 3  64 MiB answer: checker peak RSS \d+ MB", r"row 4  SIGTERM during a dripped answer",
                        r"row 6  5 refreshes"]),
}


def test_every_bench_script_is_covered():
    scripts = sorted(path.name for path in BENCH.glob("*.py") if path.name != "__init__.py")
    missing = [name for name in scripts if name not in TINY]
    assert not missing, f"bench scripts without a tiny run in tests/test_benches.py: {missing}"


@pytest.mark.timeout(DEADLINE_SECONDS + 60)
@pytest.mark.parametrize("script", sorted(TINY))
def test_bench_runs_at_a_tiny_size(script: str, tmp_path: Path):
    if not (BENCH / script).exists():
        pytest.skip(f"bench/{script} is not in this tree")
    arguments, expected = TINY[script]
    arguments = [argument.replace("{port}", str(free_port())) for argument in arguments]
    env = {name: value for name, value in os.environ.items() if not name.startswith(("CHECKER_", "DATABASE_URL"))}
    env.update(PYTHONPATH=str(PROJECT_ROOT), TMPDIR=str(tmp_path))
    run = subprocess.run([sys.executable, str(BENCH / script), *arguments], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=DEADLINE_SECONDS)
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"bench/{script} exited {run.returncode}:\n{output[-4000:]}"
    for pattern in expected:
        assert re.search(pattern, run.stdout), f"bench/{script} did not print /{pattern}/:\n{run.stdout[-4000:]}"
