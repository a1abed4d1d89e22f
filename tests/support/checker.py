"""The real checker as its own process, and what it left in the database: connections seeded as
connhub stores them, a provider environment pointed at a hostile server, `run_checker` (to the
end, with the process's peak RSS) and `start_checker` with `wait_for_line` (its log as the signal).
Used by tests/reliability, tests/test_checker.py, the catalog tests and bench/hostile.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from connhub.config import PROJECT_ROOT
from connhub.crypto import Secret
from connhub.models import CheckRecord, Connection, Status, utcnow
from connhub.runtime import Runtime
from tests.support.connect import make_user

# Runs checker.py and reports the process's peak RSS when it ends. VmHWM, not getrusage: after
# fork and exec, ru_maxrss still counts the parent's (pytest's) size at the fork.
_RSS_WRAPPER = (
    "import re, runpy, sys\n"
    "sys.argv = ['checker.py', *sys.argv[1:]]\n"
    "code = 0\n"
    "try:\n"
    "    runpy.run_path('checker.py', run_name='__main__')\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "peak = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1)\n"
    "print(f'peak_rss_kb={peak}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def provider_env(base_url: str) -> dict[str, str]:
    return {
        "EVOTOR_OAUTH_URL": f"{base_url}/evotor-oauth", "EVOTOR_API_URL": f"{base_url}/evotor-api",
        "EVOTOR_CLIENT_ID": "hostile-evotor", "EVOTOR_CLIENT_SECRET": "hostile-secret",
        "VK_ID_URL": f"{base_url}/vk-id", "VK_API_URL": f"{base_url}/vk-api", "VK_CLIENT_ID": "hostile-vk",
    }


def seed(rt: Runtime, name: str, provider: str, *, refresh: bool = False, expires_at: datetime | None = None,
         status: Status = Status.ONLINE) -> int:
    """A connection as connhub stores it, due for a check now; returns its id."""
    user = make_user(rt, name)
    with rt.sessions() as session:
        row = Connection(
            user_id=user.id, provider=provider, auth_method="oauth", account_id="1", display_name=name,
            profile={}, access_token_sealed=rt.cipher.seal(Secret(f"access-{name}")),
            refresh_token_sealed=rt.cipher.seal(Secret(f"refresh-{name}")) if refresh else None,
            token_expires_at=expires_at, auth_params={"device_id": "dev-1"} if provider == "vk" else {},
            token_version=1, status=status, status_reason="", is_online=status is Status.ONLINE,
            consecutive_failures=0, consecutive_successes=1, next_check_at=utcnow() - timedelta(seconds=1),
        )
        session.add(row)
        session.commit()
        return row.id


def connection(rt: Runtime, connection_id: int) -> Connection:
    with rt.sessions() as session:
        row = session.get(Connection, connection_id)
        assert row is not None
        session.expunge(row)
        return row


def records(rt: Runtime, connection_id: int) -> list[CheckRecord]:
    with rt.sessions() as session:
        rows = session.scalars(select(CheckRecord).where(CheckRecord.connection_id == connection_id)
                               .order_by(CheckRecord.id)).all()
        session.expunge_all()
        return list(rows)


def checker_env(rt: Runtime, **extra: str) -> dict[str, str]:
    """The environment a child process needs to see exactly this runtime's settings."""
    settings = rt.settings.env()
    env = {key: value for key, value in os.environ.items()
           if key not in settings and not key.startswith(("EVOTOR_", "VK_", "CONNHUB_"))}
    env.update(settings)
    env.update({"DATABASE_URL": rt.engine.url.render_as_string(hide_password=False),
                "PYTHONPATH": str(PROJECT_ROOT)})
    env.update(extra)
    return env


@dataclass(frozen=True)
class CheckerRun:
    returncode: int
    log: str
    peak_rss_mb: float

    @property
    def stderr(self) -> str:
        """The checker logs to stderr: the same text as `log`."""
        return self.log


def run_checker(rt: Runtime, *args: str, timeout: float = 180, **env: str) -> CheckerRun:
    """Run the real checker.py to completion; its log and its peak RSS."""
    done = subprocess.run([sys.executable, "-c", _RSS_WRAPPER, *args], cwd=PROJECT_ROOT,
                          env=checker_env(rt, **env), capture_output=True, text=True, timeout=timeout)
    match = re.search(r"peak_rss_kb=(\d+)", done.stderr)
    return CheckerRun(done.returncode, done.stderr, int(match.group(1)) / 1024 if match else float("nan"))


def start_checker(rt: Runtime, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "checker.py", *args], cwd=PROJECT_ROOT, env=checker_env(rt, **env),
                            stderr=subprocess.PIPE, text=True)


def wait_for_line(process: subprocess.Popen[str], needle: str, seen: list[str] | None = None) -> str:
    """Read the process's log until a line contains `needle` (the real readiness signal)."""
    assert process.stderr is not None
    for line in process.stderr:
        if seen is not None:
            seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"the process ended without logging {needle!r}")
