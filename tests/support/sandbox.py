"""Settings pointed at a sandbox, a checker process's environment, demo accounts from the sandbox."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet

from connhub.config import PROJECT_ROOT, Settings
from connhub.crypto import Secret
from connhub.providers import Account
from connhub.runtime import Runtime, emulations, load_settings
from connhub.sandbox import SandboxControl, SandboxServer
from connhub.sandbox.emulation import Emulation
from connhub.sandbox.state import CLOUD, OAUTH

SECRET_KEY = Fernet.generate_key().decode()


def settings_for(tmp_path: Path, sandbox: SandboxServer | None = None, **overrides: object) -> Settings:
    """Settings for a test: a fresh SQLite file under `tmp_path`, the sandbox's providers, short timers."""
    values: dict[str, object] = {
        "_env_file": None,
        "DATABASE_URL": f"sqlite:///{tmp_path}/connhub.db",
        "CONNHUB_SECRET_KEY": SECRET_KEY,
        "CONNHUB_DATA_DIR": tmp_path,
        "HEALTH_CHECK_INTERVAL_SECONDS": 60,
        "HTTP_TIMEOUT_SECONDS": 5,
    }
    if sandbox is not None:
        values.update(sandbox.env())
    values.update(overrides)
    return load_settings(**values)


def process_env(rt: Runtime) -> dict[str, str]:
    """The environment for a connhub process (checker.py) that shares `rt`'s database and providers."""
    settings = rt.settings.env()
    env = {name: value for name, value in os.environ.items() if name not in settings}
    env.update(settings)
    env.update(DATABASE_URL=rt.engine.url.render_as_string(hide_password=False), PYTHONPATH=str(PROJECT_ROOT))
    return env


def emulation(provider: str) -> Emulation:
    return next(candidate for candidate in emulations() if candidate.provider == provider)


def sandbox_account(rt: Runtime, control: SandboxControl, provider: str, account_id: str | None = None) -> Account:
    """A demo account as the provider's client reads it from the sandbox (never a copy of its data)."""
    kind = CLOUD if CLOUD in emulation(provider).kinds else OAUTH
    minted = control.mint_tokens(provider, account_id=account_id, kind=kind)["tokens"][0]
    return rt.providers.get(provider).fetch_account(Secret(minted["access_token"]))
