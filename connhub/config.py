"""One typed settings object, read from the environment (and `.env` when present).

The variable names are a public contract: deployments, `make run` and the tests set them.
A bad value stops the process at start with an error that names the variable.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
        frozen=True,
    )

    DATABASE_URL: str = Field(default="", repr=False)  # may carry a password
    HEALTH_CHECK_INTERVAL_SECONDS: int = Field(default=600, ge=2, le=7 * 24 * 3600)
    PUBLIC_URL: str = "http://localhost:8501"

    EVOTOR_CLIENT_ID: str = ""
    EVOTOR_CLIENT_SECRET: SecretStr = SecretStr("")
    EVOTOR_OAUTH_URL: str = "https://oauth.evotor.ru"
    EVOTOR_API_URL: str = "https://api.evotor.ru"

    VK_CLIENT_ID: str = ""
    VK_ID_URL: str = "https://id.vk.com"
    VK_API_URL: str = "https://api.vk.com"

    CONNHUB_SECRET_KEY: SecretStr = SecretStr("")
    CONNHUB_DATA_DIR: Path = DEFAULT_DATA_DIR

    # Tuning knobs for the checker; the defaults suit one small machine.
    CHECKER_CONCURRENCY: int = Field(default=48, ge=1, le=256)
    HTTP_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=120)
    CATALOG_REFRESH_INTERVAL_SECONDS: int = Field(default=3600, ge=60, le=7 * 24 * 3600)

    @field_validator("PUBLIC_URL", "EVOTOR_OAUTH_URL", "EVOTOR_API_URL", "VK_ID_URL", "VK_API_URL")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL")
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query string or fragment")
        return value.rstrip("/")

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and "://" not in value:
            raise ValueError("must be an SQLAlchemy URL such as sqlite:///data/connhub.db")
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

    @cached_property
    def uses_sandbox(self) -> bool:
        """True when every provider URL points at this machine: the sandbox providers."""
        return all(
            _is_loopback(url)
            for url in (self.EVOTOR_OAUTH_URL, self.EVOTOR_API_URL, self.VK_ID_URL, self.VK_API_URL)
        )


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(**overrides: object) -> Settings:
    """Read the settings; raise ConfigError naming the first bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "settings"
            problems.append(f"{name}: {error['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


def ensure_data_dir(settings: Settings) -> Path:
    path = settings.CONNHUB_DATA_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


