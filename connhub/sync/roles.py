"""Which registered provider plays which part in the sync: the catalog source and the goods target.

The one place in `connhub.sync` that knows provider keys; pages and the rest of the package ask
here. (When the registry describes providers by capability, these become a capability lookup.)
"""

from __future__ import annotations

from connhub.providers import PROVIDER_INFO

SOURCE = "evotor"  # has a catalog of stores, groups and products
TARGET = "vk"  # has communities with goods


def title(key: str) -> str:
    info = PROVIDER_INFO.get(key)
    return info.title if info is not None else key


def source_title() -> str:
    return title(SOURCE)


def target_title() -> str:
    return title(TARGET)
