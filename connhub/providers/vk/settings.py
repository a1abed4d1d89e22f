"""VK's environment variables (their names are a public contract)."""

from __future__ import annotations

from pydantic import field_validator

from connhub.config import ProviderSettings, http_url


class VkSettings(ProviderSettings):
    VK_CLIENT_ID: str = ""
    VK_ID_URL: str = "https://id.vk.com"
    VK_API_URL: str = "https://api.vk.com"

    @field_validator("VK_ID_URL", "VK_API_URL")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    def urls(self) -> tuple[str, ...]:
        return (self.VK_ID_URL, self.VK_API_URL)

    def client_id(self) -> str:
        return self.VK_CLIENT_ID
