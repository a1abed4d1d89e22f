"""VK: a VK ID account (OAuth 2.1 with PKCE), health through `users.get`."""

from connhub.providers.vk.client import VkProvider

__all__ = ["VkProvider"]
