"""VK's environment variables (their names are a public contract)."""

from __future__ import annotations

import re

from pydantic import field_validator

from connhub.config import ProviderSettings, http_url

SCOPE_NAME = re.compile(r"[a-z][a-z0-9_.]*")


class VkSettings(ProviderSettings):
    VK_CLIENT_ID: str = ""
    VK_ID_URL: str = "https://id.vk.com"
    VK_API_URL: str = "https://api.vk.com"
    # What VK ID is asked for, space- or comma-separated. `groups market photos` are extended
    # rights that VK grants an app only on request; the sync needs them (docs/vk-goods.md).
    VK_SCOPES: str = "vkid.personal_info"

    @field_validator("VK_SCOPES")
    @classmethod
    def _scopes(cls, value: str) -> str:
        names = [name for name in re.split(r"[\s,]+", value.strip()) if name]
        if not names:
            raise ValueError("name at least one scope, e.g. vkid.personal_info")
        bad = [name for name in names if not SCOPE_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"not a VK ID scope name: {', '.join(bad)}")
        return " ".join(dict.fromkeys(names))

    @field_validator("VK_ID_URL", "VK_API_URL")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    def urls(self) -> tuple[str, ...]:
        return (self.VK_ID_URL, self.VK_API_URL)

    def client_id(self) -> str:
        return self.VK_CLIENT_ID
