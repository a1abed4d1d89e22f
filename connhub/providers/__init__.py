"""Provider registry: one module per provider. A third provider is one new module plus a line here."""

from __future__ import annotations

from connhub.config import Settings
from connhub.providers.base import Account, Provider, ProviderError, ProviderInfo, TokenSet
from connhub.providers.evotor import EvotorProvider
from connhub.providers.vk import VkProvider

# The order is the order of the cards.
PROVIDER_CLASSES: tuple[type[Provider], ...] = (EvotorProvider, VkProvider)
PROVIDER_INFO: dict[str, ProviderInfo] = {cls.info.key: cls.info for cls in PROVIDER_CLASSES}


class UnknownProvider(KeyError):
    pass


class Registry:
    """The providers, configured for one process."""

    def __init__(self, settings: Settings) -> None:
        self._providers = {cls.info.key: cls(settings) for cls in PROVIDER_CLASSES}

    def get(self, key: str) -> Provider:
        try:
            return self._providers[key]
        except KeyError:
            raise UnknownProvider(key) from None


__all__ = [
    "Account", "PROVIDER_CLASSES", "PROVIDER_INFO", "Provider", "ProviderError", "ProviderInfo",
    "Registry", "TokenSet", "UnknownProvider",
]
