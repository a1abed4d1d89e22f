"""The providers connhub knows: the one list everything else iterates.

A provider is a package under `connhub/providers/` whose `Provider` subclass is registered here
(see docs/adding-a-provider.md). The order is the order of the cards. Tests may register a
provider of their own at run time (`register`) and remove it again (`unregister`).
"""

from __future__ import annotations

from typing import TypeVar

from connhub.config import ProviderSettings, Settings
from connhub.providers.base import Provider, ProviderInfo
from connhub.providers.capabilities import Capability
from connhub.providers.evotor import EvotorProvider
from connhub.providers.vk import VkProvider

T = TypeVar("T")

_CLASSES: list[type[Provider]] = [EvotorProvider, VkProvider]
# Live view of the registered providers' descriptions, in card order.
PROVIDER_INFO: dict[str, ProviderInfo] = {}


def _sync() -> None:
    PROVIDER_INFO.clear()
    PROVIDER_INFO.update((cls.info.key, cls.info) for cls in _CLASSES)


def register(cls: type[Provider]) -> None:
    """Add a provider (last in the card order); registering a key again replaces it."""
    unregister(cls.info.key)
    _CLASSES.append(cls)
    _sync()


def unregister(key: str) -> None:
    _CLASSES[:] = [cls for cls in _CLASSES if cls.info.key != key]
    _sync()


def provider_classes() -> tuple[type[Provider], ...]:
    return tuple(_CLASSES)


def settings_classes() -> tuple[type[ProviderSettings], ...]:
    return tuple(dict.fromkeys(cls.settings_class for cls in _CLASSES))


class UnknownProvider(KeyError):
    pass


class Registry:
    """The providers, configured for one process."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._providers: dict[str, Provider] = {}
        self.all()  # a bad provider setting stops the process at start

    def get(self, key: str) -> Provider:
        provider = self._providers.get(key)
        if provider is not None:
            return provider
        cls = next((cls for cls in _CLASSES if cls.info.key == key), None)
        if cls is None:
            raise UnknownProvider(key)
        provider = self._providers[key] = cls(self._settings)
        return provider

    def all(self) -> list[Provider]:
        """Every registered provider, in card order."""
        return [self.get(cls.info.key) for cls in _CLASSES]

    def providers_offering(self, capability: Capability[T]) -> list[T]:
        """The registered providers offering a capability (`connhub.providers.capabilities`), in card order."""
        return [offered for provider in self.all() if (offered := capability.of(provider)) is not None]

    def offering(self, capability: Capability[T], key: str) -> T | None:
        """The provider `key` as a capability, or None when it does not offer it."""
        return capability.of(self.get(key))


def uses_real_credentials(settings: Settings) -> bool:
    """True when some provider has an OAuth client configured that is not the sandbox's."""
    return any(
        (client_id := settings.of(cls).client_id()) and not client_id.startswith("sandbox-")
        for cls in settings_classes()
    )


_sync()
