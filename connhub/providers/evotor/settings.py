"""Evotor's environment variables (their names are a public contract)."""

from __future__ import annotations

from pydantic import SecretStr, field_validator

from connhub.config import ProviderSettings, http_url


class EvotorSettings(ProviderSettings):
    EVOTOR_CLIENT_ID: str = ""
    EVOTOR_CLIENT_SECRET: SecretStr = SecretStr("")
    EVOTOR_OAUTH_URL: str = "https://oauth.evotor.ru"
    EVOTOR_API_URL: str = "https://api.evotor.ru"

    @field_validator("EVOTOR_OAUTH_URL", "EVOTOR_API_URL")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    def urls(self) -> tuple[str, ...]:
        return (self.EVOTOR_OAUTH_URL, self.EVOTOR_API_URL)

    def client_id(self) -> str:
        return self.EVOTOR_CLIENT_ID
