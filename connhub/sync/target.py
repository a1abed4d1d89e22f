"""What the user may pick as the sync's target: the communities the VK account administers or
edits (with whether goods are on) and the goods categories. One live call each, with the
connection's fresh token; a failure is a Russian message, never an exception for the page."""

from __future__ import annotations

from dataclasses import dataclass

from connhub import connections
from connhub.providers import ProviderError
from connhub.runtime import Runtime
from connhub.sync import roles
from connhub.sync.config import Community
from connhub.sync.tokens import fresh_token


@dataclass(frozen=True)
class TargetOptions:
    communities: dict[int, Community] | None  # None: could not be listed (see error)
    categories: dict[int, str] | None  # leaf id → "Раздел / Категория"
    error: str = ""


def target_options(rt: Runtime, user_id: int) -> TargetOptions:
    from connhub.providers.vk.goods import leaves
    from connhub.sync.engine import StopRun, goods_client

    with rt.sessions() as session:
        view = connections.get_for_user(session, user_id, roles.TARGET)
    if view is None:
        return TargetOptions(None, None, f"{roles.target_title()} не подключён")
    try:
        token = fresh_token(rt, view)
    except ProviderError as exc:
        return TargetOptions(None, None, exc.reason)
    try:
        goods = goods_client(rt, view.provider, token)
    except StopRun as stop:
        return TargetOptions(None, None, stop.reason)
    errors: list[str] = []
    communities: dict[int, Community] | None = None
    categories: dict[int, str] | None = None
    try:
        communities = {c.id: Community(c.id, c.name, c.goods_enabled) for c in goods.communities()}
    except ProviderError as exc:
        errors.append(f"Сообщества не загрузились: {exc.reason}")
    try:
        categories = {leaf.id: " / ".join(path) for leaf, path in leaves(goods.categories())}
    except ProviderError as exc:
        errors.append(f"Категории не загрузились: {exc.reason}")
    return TargetOptions(communities, categories, "; ".join(errors))
