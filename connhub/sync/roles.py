"""Which registered provider plays which part in the sync, found by its declared capabilities.

The source is the first provider (in registry order) offering a catalog (`CatalogProvider`), the
target the first offering goods (`GoodsProvider`; `connhub.providers.capabilities`). Nothing in
`connhub.sync` or the pages names a provider: they ask here, and read_config's sections and
variables are named after these keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connhub.providers import Registry
from connhub.providers.capabilities import CATALOG, GOODS, Capability


@dataclass(frozen=True)
class Roles:
    source: str  # provider key
    source_title: str
    target: str
    target_title: str


class MissingRole(RuntimeError):
    """No registered provider can play a part of the sync."""


def roles(providers: Registry) -> Roles:
    def first(capability: Capability[Any]) -> tuple[str, str]:
        for provider in providers.all():
            if capability.offered_by(provider):
                return provider.info.key, provider.info.title
        raise MissingRole(f"no registered provider offers {capability.name}")

    source, source_title = first(CATALOG)
    target, target_title = first(GOODS)
    return Roles(source, source_title, target, target_title)
