"""Driving the holder processes (tests/work/holder.py): output read line by line with a deadline."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import datetime

from connhub.config import PROJECT_ROOT
from connhub.models import utcnow
from connhub.runtime import Runtime
from tests.support.sandbox import process_env

DEADLINE = 120.0  # a bound on waiting for a process to say something, never a measured duration


class Proc:
    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, wanted: Callable[[str], bool], timeout: float = DEADLINE) -> str:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no expected line within {timeout}s; seen: {self.seen[-20:]}") from None
            if line is None:
                raise AssertionError(f"process ended (code {self.process.wait()}); seen: {self.seen[-20:]}")
            self.seen.append(line)
            if wanted(line):
                return line

    def finish(self, timeout: float = DEADLINE) -> int:
        code = self.process.wait(timeout=timeout)
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def env_for(rt: Runtime, **extra: str) -> dict[str, str]:
    return process_env(rt) | extra


def holder(rt: Runtime, *args: str, **extra: str) -> Proc:
    return Proc([sys.executable, "-m", "tests.work.holder", *args], env_for(rt, **extra))


def kill_run_at(rt: Runtime, email: str, phase: str, workdir: str) -> datetime:
    """Start a sync run of `email` in a holder process, SIGKILL it once it holds `phase`; the kill's time."""
    killed = holder(rt, "sync", email, phase, workdir)
    try:
        killed.expect(lambda line: line.startswith("held"))
        os.kill(killed.process.pid, signal.SIGKILL)
        killed_at = utcnow()
        killed.finish()
    finally:
        killed.stop()
    return killed_at


def sync_cli(rt: Runtime, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connhub.sync", *args], cwd=PROJECT_ROOT, env=env_for(rt, **extra),
                          capture_output=True, text=True, timeout=DEADLINE, check=False)
