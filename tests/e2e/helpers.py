"""Plumbing for the browser suite: processes, readiness, numbered steps with screenshots, DB reads.

Nothing here sleeps in place of waiting: every wait polls a real signal (a log line, an HTTP
answer, a database row, a DOM attribute) and gives up with a message that says what it waited for.
A little over 300 lines: the process, step and database helpers of one browser suite.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
from sqlalchemy import Engine, select

from connhub.connections import ConnectionView, list_for_user
from connhub.db import make_engine, make_session_factory
from connhub.models import CheckerHeartbeat, CheckRecord, Connection, User
from connhub.sandbox import SandboxControl

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
PYTHON = sys.executable
CHECK_INTERVAL_SECONDS = 4  # the checker ticks every max(1, 4 // 20) = 1 s
OIDC_USERS = {"alice": "Алиса Смирнова", "bob": "Борис Кузнецов"}  # sub -> the name the test IdP sends

T = TypeVar("T")


# ----------------------------------------------------------------------------- waiting

class WaitTimeout(AssertionError):
    pass


class GiveUp(AssertionError):
    """Raised by a wait's check when waiting longer cannot help (e.g. the process died)."""


def wait_until(check: Callable[[], T], *, timeout: float, what: str, every: float = 0.2) -> T:
    """Poll `check` until it returns something truthy; return that. Exceptions count as "not yet"."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = check()
        except GiveUp:
            raise
        except Exception as exc:  # noqa: BLE001 - "not ready yet" often looks like an error
            value, last_error = None, exc
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f" (last error: {type(last_error).__name__}: {last_error})" if last_error else ""
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(every)  # the poll period of a real signal, not a stand-in for one


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_text(url: str) -> str | None:
    response = requests.get(url, timeout=2)
    return response.text if response.status_code == 200 else None


# ----------------------------------------------------------------------------- processes

@dataclass
class Proc:
    """A child process whose stdout and stderr go to one log file under the artifacts."""

    name: str
    argv: Sequence[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> Proc:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        try:
            self.popen = subprocess.Popen(
                list(self.argv), cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        finally:
            log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def wait_for_line(self, pattern: str, *, timeout: float) -> re.Match[str]:
        """Wait until the log holds a line matching `pattern`; fail at once if the process died."""
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            match = regex.search(self.output())
            if match is None and not self.alive():
                raise ProcessDied(self)
            return match

        try:
            return wait_until(found, timeout=timeout, what=f"{self.name} to print /{pattern}/")
        except WaitTimeout as exc:
            raise WaitTimeout(f"{exc}\n--- {self.name} log ({self.log_path}) ---\n{self.tail()}") from None

    def wait_ready(self, check: Callable[[], Any], *, timeout: float, what: str) -> Any:
        def ready() -> Any:
            if not self.alive():
                raise ProcessDied(self)
            return check()

        try:
            return wait_until(ready, timeout=timeout, what=f"{self.name}: {what}")
        except ProcessDied:
            raise
        except WaitTimeout as exc:
            raise WaitTimeout(f"{exc}\n--- {self.name} log ({self.log_path}) ---\n{self.tail()}") from None

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM the process (and its group), then SIGKILL if it does not exit in time."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(5)
        return self.popen.returncode


class ProcessDied(GiveUp):
    def __init__(self, proc: Proc) -> None:
        code = proc.popen.returncode if proc.popen is not None else None
        super().__init__(f"{proc.name} exited with code {code}\n--- {proc.name} log ({proc.log_path}) ---\n"
                         f"{proc.tail()}")


# ----------------------------------------------------------------------------- the database

class Db:
    """Read-only views of the shared database through connhub, for assertions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        self.sessions = make_session_factory(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def user_id(self, subject: str) -> int | None:
        with self.sessions() as session:
            return session.scalar(select(User.id).where(User.subject == subject))

    def connections(self, subject: str) -> list[ConnectionView]:
        user_id = self.user_id(subject)
        if user_id is None:
            return []
        with self.sessions() as session:
            return list_for_user(session, user_id)

    def connection(self, subject: str, provider: str) -> ConnectionView | None:
        return next((view for view in self.connections(subject) if view.provider == provider), None)

    def token_version(self, connection_id: int) -> int | None:
        with self.sessions() as session:
            return session.scalar(select(Connection.token_version).where(Connection.id == connection_id))

    def checks(self, connection_id: int, since_id: int = 0) -> list[CheckRecord]:
        """Check records of one connection after `since_id`, oldest first."""
        with self.sessions() as session:
            return list(session.scalars(
                select(CheckRecord)
                .where(CheckRecord.connection_id == connection_id, CheckRecord.id > since_id)
                .order_by(CheckRecord.id)
            ))

    def last_check_id(self, connection_id: int) -> int:
        rows = self.checks(connection_id)
        return rows[-1].id if rows else 0

    def heartbeats(self) -> list[CheckerHeartbeat]:
        with self.sessions() as session:
            return list(session.scalars(select(CheckerHeartbeat)))


# ----------------------------------------------------------------------------- steps

class StepFailed(AssertionError):
    pass


class Steps:
    """Numbered steps of a scenario: a screenshot after each, a FAILED- one when a step fails.

        with steps("04 connect evotor") as s:
            ...
            s.page = tab          # screenshot this tab instead of the main one

    The failure is re-raised as StepFailed("step 04 connect evotor failed: ...") chained to the
    original error, with the tails of the processes' logs appended.
    """

    def __init__(self, page: Any, *, outdir: Path, procs: Sequence[Proc] = ()) -> None:
        self.page = page
        self.outdir = outdir
        self.procs = list(procs)
        self.shots: list[Path] = []
        self.timings: list[tuple[str, float]] = []
        self.outdir.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def slug(name: str) -> str:
        return re.sub(r"[^0-9A-Za-z]+", "-", name).strip("-").lower()

    def shot(self, filename: str, page: Any | None = None) -> Path | None:
        path = self.outdir / filename
        try:
            (page or self.page).screenshot(path=str(path), timeout=10_000)
        except Exception as exc:  # noqa: BLE001 - a missing screenshot must not hide the real failure
            print(f"[e2e] could not take screenshot {path.name}: {exc}", file=sys.stderr)
            return None
        self.shots.append(path)
        return path

    def note(self, line: str) -> None:
        """One line to stderr (shown with a failure) and to steps.log next to the screenshots."""
        stamped = f"{time.strftime('%H:%M:%S')} {line}"
        print(f"[e2e] {stamped}", file=sys.stderr, flush=True)
        with (self.outdir / "steps.log").open("a", encoding="utf-8") as log:
            log.write(stamped + "\n")

    @contextmanager
    def __call__(self, name: str) -> Iterator[Steps]:
        slug = self.slug(name)
        started = time.monotonic()
        self.note(f"step {name} ...")
        try:
            yield self
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            shot = self.shot(f"FAILED-{slug}.png")
            self.note(f"step {name} FAILED after {time.monotonic() - started:.1f}s: {type(exc).__name__}; "
                      f"screenshot {shot.name if shot else '-'}")
            logs = "".join(f"\n--- {proc.name} log, last lines ({proc.log_path}) ---\n{proc.tail(15)}"
                           for proc in self.procs)
            where = f"\nscreenshot: {shot}" if shot else ""
            raise StepFailed(f"step {name} failed: {type(exc).__name__}: {exc}{where}{logs}") from exc
        self.timings.append((name, time.monotonic() - started))
        shot = self.shot(f"{slug}.png")
        self.note(f"step {name} ok in {time.monotonic() - started:.1f}s; screenshot {shot.name if shot else '-'}")


# ----------------------------------------------------------------------------- what the fixtures give

@dataclass
class Stack:
    artifacts: Path
    run_dir: Path
    env: dict[str, str]
    sandbox_url: str
    control: SandboxControl
    db: Db
    sandbox: Proc
    checker: Proc
    app: Proc
    app_url: str

    @property
    def procs(self) -> list[Proc]:
        return [self.app, self.checker, self.sandbox]


@dataclass
class AuthApp:
    url: str
    oidc_url: str
    app: Proc
