"""One typed settings object, read from the environment (and `.env` when present).

The variable names are a public contract: deployments, `make run` and the tests set them.
A bad value stops the process at start with an error that names the variable.

`Settings` holds what connhub itself needs. Each provider declares its own variables in a
`ProviderSettings` subclass next to its client (`connhub/providers/<key>/settings.py`).
This module never looks the providers up: the composition root (`connhub.runtime.load_settings`)
hands their settings classes to `load_settings`, which reads them from the same sources and
overrides, and `Settings.of(cls)` hands them out.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
SUPPORTED_DATABASES = ("sqlite", "postgresql")

_MODEL_CONFIG = SettingsConfigDict(
    env_file=".env",
    env_file_encoding="utf-8",
    extra="ignore",
    case_sensitive=True,
    frozen=True,
)


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable."""


def http_url(value: str) -> str:
    """Validate an absolute http(s) URL without query or fragment; drop a trailing slash."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in 0-65535
    except ValueError:
        raise ValueError("must have a valid port number") from None
    if not parts.hostname:
        raise ValueError("must name a host, e.g. http://localhost:8501")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query string or fragment")
    return value.rstrip("/")


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ProviderSettings(BaseSettings):
    """Base of a provider's own settings (its variables keep their public names)."""

    model_config = _MODEL_CONFIG

    def urls(self) -> tuple[str, ...]:
        """Every provider URL; all on this machine means the sandbox."""
        return ()

    def client_id(self) -> str:
        """The OAuth client id configured for connhub ("" when none)."""
        return ""


SettingsT = TypeVar("SettingsT", bound=ProviderSettings)
ModelT = TypeVar("ModelT", bound=BaseSettings)


class Settings(BaseSettings):
    model_config = _MODEL_CONFIG

    DATABASE_URL: str = Field(default="", repr=False)  # may carry a password
    HEALTH_CHECK_INTERVAL_SECONDS: int = Field(default=600, ge=2, le=7 * 24 * 3600)
    PUBLIC_URL: str = "http://localhost:8501"

    CONNHUB_SECRET_KEY: SecretStr = SecretStr("")
    CONNHUB_DATA_DIR: Path = DEFAULT_DATA_DIR

    # Tuning knobs for the checker; the defaults suit one small machine.
    CHECKER_CONCURRENCY: int = Field(default=48, ge=1, le=256)
    HTTP_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=120)
    CATALOG_REFRESH_INTERVAL_SECONDS: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    # A running sync run whose lease (renewed every few seconds) is this old is dead; the process
    # lock usually says so at once (connhub.work.claims).
    SYNC_RUN_LEASE_SECONDS: int = Field(default=300, ge=1, le=24 * 3600)
    # How long one «minute» of the sync schedule's interval lasts (connhub.sync.schedule); tests and
    # the lateness bench shorten it so a 15-minute interval passes in a second.
    SYNC_SCHEDULE_MINUTE_SECONDS: float = Field(default=60.0, gt=0, le=60)
    # How many sync runs (of different users) and catalog refreshes one sidecar does at once
    # (issue 19); a user's runs are still one at a time, and several sidecars share the queue.
    SYNC_CONCURRENCY: int = Field(default=8, ge=1, le=64)
    CATALOG_CONCURRENCY: int = Field(default=2, ge=1, le=32)

    # Operations (issue 21): who administers connhub, and the sidecar's Prometheus metrics.
    # ADMIN_EMAILS is a comma list; with OIDC, ADMIN_GROUPS_CLAIM names a claim (a list or a
    # comma list of groups) and ADMIN_GROUPS the groups in it that make an administrator.
    ADMIN_EMAILS: str = ""
    ADMIN_GROUPS_CLAIM: str = ""
    ADMIN_GROUPS: str = ""
    METRICS_PORT: int = Field(default=0, ge=0, le=65535)  # 0: no metrics endpoint
    METRICS_ADDRESS: str = "127.0.0.1"

    @property
    def admin_emails(self) -> frozenset[str]:
        return frozenset(part.strip().lower() for part in self.ADMIN_EMAILS.split(",") if part.strip())

    @property
    def admin_groups(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.ADMIN_GROUPS.split(",") if part.strip())

    # Notifications (lane notify, docs/notifications.md): the server's own mail, and the deadline
    # of one send. TELEGRAM_API_URL points Telegram channels at another Bot API server.
    SMTP_HOST: str = "localhost"
    SMTP_PORT: int = Field(default=587, ge=1, le=65535)
    SMTP_USERNAME: str = ""
    SMTP_PASSWORD: SecretStr = SecretStr("")
    SMTP_FROM: str = "connhub@localhost"
    SMTP_SECURITY: Literal["starttls", "ssl", "none"] = "starttls"
    NOTIFY_SEND_TIMEOUT_SECONDS: float = Field(default=20.0, gt=0, le=120)
    TELEGRAM_API_URL: str = "https://api.telegram.org"
    SYNC_STALE_HOURS: int = Field(default=26, ge=1, le=24 * 90)  # a switched-on sync with no run this long
    # Health history (connhub.health.history): raw checks, then hourly and daily rollups.
    HISTORY_RAW_DAYS: int = Field(default=7, ge=2, le=90)
    HISTORY_ROLLUP_DAYS: int = Field(default=90, ge=31, le=3660)

    # The overrides given to load_settings, and the provider settings read so far.
    _overrides: dict[str, Any] = PrivateAttr(default_factory=dict)
    _providers: dict[type[ProviderSettings], ProviderSettings] = PrivateAttr(default_factory=dict)
    # The settings classes of the providers this process knows, handed over by load_settings.
    _provider_classes: tuple[type[ProviderSettings], ...] = PrivateAttr(default=())

    @field_validator("PUBLIC_URL")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value:
            return value
        example = "such as sqlite:///data/connhub.db or postgresql+psycopg://user@host/db"
        if "://" not in value:
            raise ValueError(f"must be an SQLAlchemy URL {example}")
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"must be an SQLAlchemy URL {example}") from None
        if url.get_backend_name() not in SUPPORTED_DATABASES:
            raise ValueError(f"database {url.get_backend_name()!r} is not supported; use SQLite or PostgreSQL, "
                             f"{example}")
        try:
            url.get_dialect().import_dbapi()
        except (ImportError, NoSuchModuleError):
            raise ValueError(f"driver {url.get_driver_name()!r} is not installed; use {example}") from None
        return value

    @field_validator("CONNHUB_DATA_DIR")
    @classmethod
    def _usable_data_dir(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError(f"{value} is not a directory")
        try:
            value.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"cannot create the directory {value} ({exc.strerror or type(exc).__name__})") from None
        if not os.access(value, os.W_OK | os.X_OK):
            raise ValueError(f"the directory {value} is not writable by this user")
        return value

    @property
    def database_url(self) -> str:
        if self.DATABASE_URL:
            return self.DATABASE_URL
        return f"sqlite:///{self.CONNHUB_DATA_DIR / 'connhub.db'}"

    @property
    def oauth_redirect_uri(self) -> str:
        """What to register with each provider as the redirect URI."""
        return f"{self.PUBLIC_URL}/oauth_callback"

    def of(self, cls: type[SettingsT]) -> SettingsT:
        """A provider's settings, read from the same sources and overrides as these."""
        found = self._providers.get(cls)
        if found is None:
            found = self._providers[cls] = _read(cls, self._overrides)
        assert isinstance(found, cls)
        return found

    def provider_settings(self) -> list[ProviderSettings]:
        """The settings of every provider handed to `load_settings`."""
        return [self.of(cls) for cls in self._provider_classes]

    @property
    def uses_sandbox(self) -> bool:
        """True when every provider URL points at this machine: the sandbox providers."""
        urls = [url for settings in self.provider_settings() for url in settings.urls()]
        return bool(urls) and all(is_loopback_url(url) for url in urls)

    def env(self) -> dict[str, str]:
        """Every variable, core and providers', as text: what a child process needs to see the same."""
        values: dict[str, str] = {}
        for model in (self, *self.provider_settings()):
            for name, value in model.model_dump().items():
                values[name] = str(value.get_secret_value() if isinstance(value, SecretStr) else value)
        return values


def _problems(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        problems.append(f"{name}: {error['msg']}")
    return "invalid configuration: " + "; ".join(problems)


def _read(cls: type[ModelT], overrides: Mapping[str, Any]) -> ModelT:
    fields = set(cls.model_fields)
    mine = {name: value for name, value in overrides.items() if name in fields or name.startswith("_")}
    try:
        return cls(**mine)
    except ValidationError as exc:
        raise ConfigError(_problems(exc)) from None


def load_settings(providers: Sequence[type[ProviderSettings]], /, **overrides: object) -> Settings:
    """Read the settings, connhub's and those of each of `providers` (settings classes, in card
    order; required, so no caller gets a settings object that silently knows no provider); raise
    ConfigError naming the first bad variable. Processes call `connhub.runtime.load_settings`,
    which hands over every registered provider's."""
    settings = _read(Settings, overrides)
    settings._overrides = dict(overrides)
    settings._provider_classes = tuple(dict.fromkeys(providers))
    settings.provider_settings()  # a bad provider variable stops the process now, not at first use
    return settings


def ensure_data_dir(settings: Settings) -> Path:
    path = settings.CONNHUB_DATA_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path
