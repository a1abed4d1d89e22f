"""The providers: one package per provider (`evotor/`, `vk/`), listed by `registry`."""

from __future__ import annotations

from connhub.providers.base import Account, Provider, ProviderError, ProviderInfo, TokenSet
from connhub.providers.registry import PROVIDER_INFO, Registry, UnknownProvider, provider_classes

__all__ = [
    "Account", "PROVIDER_INFO", "Provider", "ProviderError", "ProviderInfo",
    "Registry", "TokenSet", "UnknownProvider", "provider_classes",
]
