"""Evotor cloud POS: OAuth or a pasted app token, health through `GET /stores`."""

from connhub.providers.evotor.client import EvotorProvider

__all__ = ["EvotorProvider"]
