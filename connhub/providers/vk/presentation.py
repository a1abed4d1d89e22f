"""How VK is offered and how its account is shown (as data; pages render it)."""

from __future__ import annotations

from typing import Any

from connhub.providers.base import ProviderInfo
from connhub.providers.presentation import AccountPresentation, Fact, Link

INFO = ProviderInfo(
    key="vk",
    title="ВКонтакте",
    icon=":material/forum:",
    description="Подключите аккаунт ВКонтакте для публикации товаров в вашу группу.",
)


def account(account_id: str, display_name: str, profile: dict[str, Any]) -> AccountPresentation:
    """The user's name and id, with a link to the profile."""
    name = f"{profile.get('first_name', '')} {profile.get('last_name', '')}".strip() or display_name
    user_id = str(profile.get("user_id") or account_id)
    facts: tuple[Fact, ...] = ()
    if user_id.isdigit():
        facts = (Fact("ID", user_id, Link(f"vk.com/id{user_id}", f"https://vk.com/id{user_id}")),)
    elif user_id:
        facts = (Fact("ID", user_id),)
    return AccountPresentation(heading=name, facts=facts)
