"""The real product on localhost for the browser suite.

One session-wide stack: a fresh SQLite database migrated with Alembic, the sandbox providers
(`python -m connhub.sandbox`), `checker.py` on a short interval and `streamlit run app.py` in
local mode, each a separate process whose output goes to test-artifacts/e2e/<name>.log. A second
app instance with `[auth]` against an in-process `oidc-provider-mock` serves the two-user test.

Readiness is always a real signal: the sandbox's "listening" line and /healthz, the checker's
"started" line and its heartbeat row, the app's /_stcore/health answering "ok".

The browser is Debian's chromium through `executable_path` (no `playwright install`); set
CONNHUB_E2E_CHROMIUM to use another binary.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from connhub.config import Settings
from connhub.providers.registry import settings_classes
from connhub.runtime import emulations
from connhub.sandbox import SandboxControl, sandbox_env

from .helpers import (
    ARTIFACTS,
    CHECK_INTERVAL_SECONDS,
    OIDC_USERS,
    PYTHON,
    ROOT,
    AuthApp,
    Db,
    Proc,
    Stack,
    StepFailed,
    free_port,
    http_text,
    wait_until,
)

STARTUP_TIMEOUT = 60

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# Settings a developer's shell might carry (connhub's and every registered provider's); the stack
# sets its own.
CONNHUB_VARS = (*Settings.model_fields, *(name for cls in settings_classes() for name in cls.model_fields), "LOG_LEVEL")


def chromium_path() -> str | None:
    explicit = os.environ.get("CONNHUB_E2E_CHROMIUM")
    if explicit:
        return explicit
    return shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


NO_CHROMIUM = "no chromium: install Debian's `chromium` package (make test does) or set CONNHUB_E2E_CHROMIUM"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a browser, skip the suite on a developer's machine; in CI (CI set) let it fail."""
    if chromium_path() is not None or os.environ.get("CI"):
        return
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))


# ----------------------------------------------------------------------------- browser

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    executable = chromium_path()
    if executable is None:
        pytest.fail(NO_CHROMIUM)
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 860}, "locale": "ru-RU",
            "timezone_id": "Europe/Moscow"}


# ----------------------------------------------------------------------------- the stack

@pytest.fixture(scope="session")
def artifacts() -> Iterator[Path]:
    """test-artifacts/e2e, emptied at the start of the session.

    Another run of the suite in the same tree at the same time (a second pytest, `make test`)
    must not wipe this one's screenshots and logs: the first run holds a lock on the directory
    and a concurrent one writes to test-artifacts/e2e-<pid>/ instead, and says so.
    """
    base = ARTIFACTS
    base.parent.mkdir(parents=True, exist_ok=True)
    lock = (base.parent / ".e2e.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        base = base.with_name(f"{base.name}-{os.getpid()}")
        print(f"[e2e] another run holds {ARTIFACTS}; this run writes to {base}", file=sys.stderr)
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    try:
        yield base
    finally:
        lock.close()


def base_env(**values: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in CONNHUB_VARS and not key.startswith("STREAMLIT_")}
    env.update(PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT), LOG_LEVEL="INFO", **values)
    return env


def start_app(name: str, *, env: dict[str, str], run_dir: Path, port: int, secrets_file: Path,
              logs: Path) -> Proc:
    """`streamlit run app.py` bound to loopback, ready when /_stcore/health answers "ok"."""
    app = Proc(name, [
        PYTHON, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        # Only our secrets: a developer's .streamlit/secrets.toml must not switch the mode.
        "--secrets.files", str(secrets_file),
    ], env=env, cwd=run_dir, log_path=logs / f"{name}.log").start()
    try:
        app.wait_ready(lambda: http_text(f"http://127.0.0.1:{port}/_stcore/health") == "ok",
                       timeout=STARTUP_TIMEOUT, what="/_stcore/health == ok")
    except BaseException:
        app.stop()
        raise
    return app


@pytest.fixture(scope="session")
def stack(artifacts: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    run_dir = tmp_path_factory.mktemp("connhub-e2e")
    sandbox_port, app_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    app_url = f"http://localhost:{app_port}"  # the host name the browser uses, as in PUBLIC_URL
    env = base_env(
        DATABASE_URL=f"sqlite:///{run_dir / 'connhub.db'}",
        HEALTH_CHECK_INTERVAL_SECONDS=str(CHECK_INTERVAL_SECONDS),
        HTTP_TIMEOUT_SECONDS="5",
        PUBLIC_URL=app_url,
        **sandbox_env(sandbox_url, emulations()),
        CONNHUB_SECRET_KEY=Fernet.generate_key().decode(),
        CONNHUB_DATA_DIR=str(run_dir / "data"),
    )
    procs: list[Proc] = []
    db: Db | None = None
    try:
        try:
            # 1. A fresh database, migrated the way a deployment does it.
            with (artifacts / "migrate.log").open("wb") as log:
                migrated = subprocess.run([PYTHON, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env,
                                          stdout=log, stderr=subprocess.STDOUT, timeout=120)
            assert migrated.returncode == 0, "alembic upgrade head failed:\n" + (artifacts / "migrate.log").read_text()
            db = Db(env["DATABASE_URL"])

            # 2. The sandbox providers.
            sandbox = Proc("sandbox",
                           [PYTHON, "-m", "connhub.sandbox", "--host", "127.0.0.1", "--port", str(sandbox_port)],
                           env=env, cwd=run_dir, log_path=artifacts / "sandbox.log").start()
            procs.append(sandbox)
            sandbox.wait_for_line(r"connhub sandbox listening on http://\S+", timeout=STARTUP_TIMEOUT)
            sandbox.wait_ready(lambda: (http_text(f"{sandbox_url}/healthz") or "").strip() == "ok",
                               timeout=STARTUP_TIMEOUT, what="/healthz == ok")
            control = SandboxControl(sandbox_url)
            control.reset()

            # 3. The checker; alive when it has logged its start and written its heartbeat row.
            checker = Proc("checker", [PYTHON, str(ROOT / "checker.py")], env=env, cwd=run_dir,
                           log_path=artifacts / "checker.log").start()
            procs.append(checker)
            checker.wait_for_line(r"checker \S+ started", timeout=STARTUP_TIMEOUT)
            checker.wait_ready(lambda: db.heartbeats(), timeout=STARTUP_TIMEOUT, what="a checker_heartbeats row")

            # 4. The app, local mode (no [auth]).
            secrets_file = run_dir / "secrets-local.toml"
            secrets_file.write_text("# local mode: no [auth]\n")
            app = start_app("app", env=env, run_dir=run_dir, port=app_port, secrets_file=secrets_file, logs=artifacts)
            procs.append(app)
        except Exception as exc:  # the scenario's step 01 is this startup: say so
            raise StepFailed(f"step 01 stack ready failed while starting the processes: {exc}") from exc

        yield Stack(artifacts=artifacts, run_dir=run_dir, env=env, sandbox_url=sandbox_url, control=control, db=db,
                    sandbox=sandbox, checker=checker, app=app, app_url=app_url)
    finally:
        for proc in reversed(procs):
            code = proc.stop()
            print(f"[e2e] {proc.name} stopped (exit code {code}); log: {proc.log_path}", file=sys.stderr)
        if db is not None:
            db.close()


# ----------------------------------------------------------------------------- [auth] instance

@pytest.fixture(scope="session")
def auth_app(stack: Stack) -> Iterator[AuthApp]:
    """A second app instance on the same database with `[auth]` against a local OIDC provider."""
    from oidc_provider_mock import User, run_server_in_thread

    users = [User(sub=subject, claims={"email": f"{subject}@example.test", "name": name})
             for subject, name in OIDC_USERS.items()]
    with run_server_in_thread(port=free_port(), user_claims=users) as oidc:
        oidc_url = f"http://localhost:{oidc.server_port}"
        wait_until(lambda: http_text(f"{oidc_url}/.well-known/openid-configuration"), timeout=STARTUP_TIMEOUT,
                   what="the OIDC provider's discovery document")
        port = free_port()
        url = f"http://localhost:{port}"
        secrets_file = stack.run_dir / "secrets-auth.toml"
        secrets_file.write_text(
            "[auth]\n"
            f'redirect_uri = "{url}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(32)}"\n'
            'client_id = "connhub-e2e"\n'
            f'client_secret = "{secrets.token_hex(16)}"\n'
            f'server_metadata_url = "{oidc_url}/.well-known/openid-configuration"\n'
        )
        env = {**stack.env, "PUBLIC_URL": url}
        try:
            app = start_app("app-auth", env=env, run_dir=stack.run_dir, port=port, secrets_file=secrets_file,
                            logs=stack.artifacts)
        except Exception as exc:
            raise StepFailed(f"step 12a two users sign in failed while starting the [auth] app: {exc}") from exc
        try:
            yield AuthApp(url=url, oidc_url=oidc_url, app=app)
        finally:
            code = app.stop()
            print(f"[e2e] app-auth stopped (exit code {code}); log: {app.log_path}", file=sys.stderr)
