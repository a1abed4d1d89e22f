"""Running the real `checker.py` against a test's runtime: once, or as a long-lived sidecar."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import update

from connhub.config import PROJECT_ROOT
from connhub.models import Connection, utcnow
from connhub.runtime import Runtime


def env_for(rt: Runtime, **extra: str) -> dict[str, str]:
    settings = rt.settings.env()
    env = {key: value for key, value in os.environ.items()
           if key not in settings and not key.startswith(("EVOTOR_", "VK_", "CONNHUB_", "SMTP_"))}
    env.update(settings)
    env.update({"DATABASE_URL": rt.engine.url.render_as_string(hide_password=False),
                "PYTHONPATH": str(PROJECT_ROOT)})
    env.update(extra)
    return env


def due_now(rt: Runtime) -> None:
    with rt.sessions() as session:
        session.execute(update(Connection).values(next_check_at=utcnow() - timedelta(seconds=1)))
        session.commit()


def checker_once(rt: Runtime) -> str:
    """`checker.py --once` (checks what is due, sends what is due); its log. Fails the test on exit != 0."""
    done = subprocess.run([sys.executable, "checker.py", "--once"], cwd=PROJECT_ROOT, env=env_for(rt),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


@contextmanager
def sidecar(rt: Runtime, **extra: str) -> Iterator[subprocess.Popen[str]]:
    """A long-lived `checker.py`, stopped with SIGTERM (and waited for) at the end."""
    process = subprocess.Popen([sys.executable, "checker.py"], cwd=PROJECT_ROOT, env=env_for(rt, **extra),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
