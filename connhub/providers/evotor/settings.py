"""Evotor's environment variables (their names are a public contract)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from connhub.config import ProviderSettings, http_url
from connhub.ports.catalog import RefreshBounds

_DEFAULT_BOUNDS = RefreshBounds()


class EvotorSettings(ProviderSettings):
    EVOTOR_CLIENT_ID: str = ""
    EVOTOR_CLIENT_SECRET: SecretStr = SecretStr("")
    EVOTOR_OAUTH_URL: str = "https://oauth.evotor.ru"
    EVOTOR_API_URL: str = "https://api.evotor.ru"

    # What one catalog refresh may read before it stops and says which bound stopped it
    # (docs/catalog.md «Bounds»). A real store of 100,000 products needs about 100 pages.
    EVOTOR_CATALOG_MAX_PAGES: int = Field(default=_DEFAULT_BOUNDS.max_pages, ge=1, le=100_000)
    EVOTOR_CATALOG_MAX_REQUESTS: int = Field(default=_DEFAULT_BOUNDS.max_requests, ge=1, le=200_000)
    EVOTOR_CATALOG_MAX_SECONDS: float = Field(default=_DEFAULT_BOUNDS.max_seconds, gt=0, le=24 * 3600)
    EVOTOR_CATALOG_MAX_ITEMS: int = Field(default=_DEFAULT_BOUNDS.max_items, ge=1, le=10_000_000)

    @field_validator("EVOTOR_OAUTH_URL", "EVOTOR_API_URL")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    def urls(self) -> tuple[str, ...]:
        return (self.EVOTOR_OAUTH_URL, self.EVOTOR_API_URL)

    def client_id(self) -> str:
        return self.EVOTOR_CLIENT_ID

    def catalog_bounds(self) -> RefreshBounds:
        return RefreshBounds(max_pages=self.EVOTOR_CATALOG_MAX_PAGES, max_requests=self.EVOTOR_CATALOG_MAX_REQUESTS,
                             max_seconds=self.EVOTOR_CATALOG_MAX_SECONDS, max_items=self.EVOTOR_CATALOG_MAX_ITEMS)
