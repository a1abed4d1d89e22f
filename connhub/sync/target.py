"""What the user may pick as the sync's target: the communities the target account administers or
edits (with whether goods are on) and the goods categories (leaves of the category tree).

Two live calls through the target provider's `GoodsTarget` (`GoodsProvider`), with the connection's fresh
token; a failure comes back as a Russian message for the page, never as an exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from connhub import connections
from connhub.ports.errors import ProviderError
from connhub.ports.goods import Category
from connhub.providers.capabilities import GOODS
from connhub.runtime import Runtime
from connhub.sync.config import Community
from connhub.sync.roles import roles
from connhub.sync.tokens import goods_target


@dataclass(frozen=True)
class TargetOptions:
    communities: dict[int, Community] | None  # None: could not be listed (see error)
    categories: dict[int, str] | None  # leaf id → "Раздел / Категория"
    error: str = ""


def category_leaves(tree: Iterable[Category], path: tuple[str, ...] = ()) -> Iterator[tuple[int, str]]:
    """(id, "Раздел / Категория") of every leaf: new items go into a leaf category."""
    for node in tree:
        here = (*path, node.name)
        if node.children:
            yield from category_leaves(node.children, here)
        else:
            yield node.id, " / ".join(here)


def target_options(rt: Runtime, user_id: int) -> TargetOptions:
    parts = roles(rt.providers)
    with rt.sessions() as session:
        view = connections.get_for_user(session, user_id, parts.target)
    if view is None:
        return TargetOptions(None, None, f"{parts.target_title} не подключён")
    provider = rt.providers.offering(GOODS, parts.target)
    if provider is None:
        return TargetOptions(None, None, f"У сервиса «{parts.target_title}» нет товаров")
    try:
        goods = goods_target(rt, provider, view)
    except ProviderError as exc:
        return TargetOptions(None, None, exc.reason)
    errors: list[str] = []
    communities: dict[int, Community] | None = None
    categories: dict[int, str] | None = None
    try:
        communities = {c.id: Community(c.id, c.name, c.goods_enabled) for c in goods.communities()}
    except ProviderError as exc:
        errors.append(f"Сообщества не загрузились: {exc.reason}")
    try:
        categories = dict(category_leaves(goods.categories()))
    except ProviderError as exc:
        errors.append(f"Категории не загрузились: {exc.reason}")
    return TargetOptions(communities, categories, "; ".join(errors))
