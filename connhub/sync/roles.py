"""Which registered provider plays which part in the sync, found by what it can do.

The source is the first provider (in registry order) with a catalog (`catalog_source`), the
target the first with goods (`goods`). Nothing in `connhub.sync` or the pages names a provider:
they ask here, and read_config's sections and variables are named after these keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from connhub.providers import Registry

SOURCE_CAPABILITY = "catalog_source"
TARGET_CAPABILITY = "goods"


@dataclass(frozen=True)
class Roles:
    source: str  # provider key
    source_title: str
    target: str
    target_title: str


class MissingRole(RuntimeError):
    """No registered provider can play a part of the sync."""


def roles(providers: Registry) -> Roles:
    def first(capability: str) -> tuple[str, str]:
        for provider in providers.all():
            if callable(getattr(provider, capability, None)):
                return provider.info.key, provider.info.title
        raise MissingRole(f"no registered provider offers {capability!r}")

    source, source_title = first(SOURCE_CAPABILITY)
    target, target_title = first(TARGET_CAPABILITY)
    return Roles(source, source_title, target, target_title)
