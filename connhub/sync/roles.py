"""Which registered provider plays which part in the sync, found by its declared capabilities.

The source is the first provider (in registry order) offering a catalog (`CatalogProvider`), the
target the first offering goods (`GoodsProvider`; `connhub.providers.capabilities`). Nothing in
`connhub.sync` or the pages names a provider: they ask here, and read_config's sections and
variables are named after these keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connhub.providers import Provider, Registry
from connhub.providers.capabilities import CATALOG, GOODS, Capability


@dataclass(frozen=True)
class Roles:
    source: str  # provider key
    source_title: str
    target: str
    target_title: str
    target_rights_setting: str = ""  # the target's setting listing the rights it asks for (GoodsProvider)


class MissingRole(RuntimeError):
    """No registered provider can play a part of the sync."""


def roles(providers: Registry) -> Roles:
    def first(capability: Capability[Any]) -> Provider:
        for provider in providers.all():
            if capability.offered_by(provider):
                return provider
        raise MissingRole(f"no registered provider offers {capability.name}")

    source, target = first(CATALOG), first(GOODS)
    goods = GOODS.of(target)
    return Roles(source.info.key, source.info.title, target.info.key, target.info.title,
                 goods.rights_setting() if goods is not None else "")
