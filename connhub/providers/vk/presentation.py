"""How VK is offered and how its account is shown (as data; pages render it)."""

from __future__ import annotations

from typing import Any

from connhub.providers.base import ProviderInfo
from connhub.providers.presentation import AccountPresentation, Fact, Link
from connhub.providers.vk.rights import LABELS, RIGHTS, Rights

INFO = ProviderInfo(
    key="vk",
    title="ВКонтакте",
    icon=":material/forum:",
    description="Подключите аккаунт ВКонтакте для публикации товаров в вашу группу.",
    supports_token_paste=True,
    token_hint=(
        "Ключ доступа пользователя ВКонтакте (vk1.a.… или vk2.a.…) с правами на сообщества, товары и "
        "фотографии — они нужны для выгрузки товаров. Мы сразу проверим ключ и его права во ВКонтакте и "
        "сохраним, только если он работает."
    ),
)

RIGHT_MARKS = {True: "есть", False: "нет", None: "не проверено"}


def account(account_id: str, display_name: str, profile: dict[str, Any]) -> AccountPresentation:
    """The user's name and id, with a link to the profile."""
    name = f"{profile.get('first_name', '')} {profile.get('last_name', '')}".strip() or display_name
    user_id = str(profile.get("user_id") or account_id)
    facts: tuple[Fact, ...] = ()
    if user_id.isdigit():
        facts = (Fact("ID", user_id, Link(f"vk.com/id{user_id}", f"https://vk.com/id{user_id}")),)
    elif user_id:
        facts = (Fact("ID", user_id),)
    if isinstance(profile.get("rights"), dict):
        facts = (*facts, Fact("Права для выгрузки товаров", rights_summary(profile)))
    return AccountPresentation(heading=name, facts=facts)


def rights_note(profile: dict[str, Any]) -> str | None:
    """One line for the dashboard card: which rights the goods sync still lacks, if any."""
    if not isinstance(profile.get("rights"), dict):
        return None
    rights = Rights.from_profile(profile)
    if rights.complete:
        return "Права для выгрузки товаров есть"
    if rights.missing:
        return f"Нет прав для выгрузки товаров: {', '.join(rights.missing)}"
    return f"Права для выгрузки товаров не проверены: {', '.join(rights.unknown)}"


def rights_summary(profile: dict[str, Any]) -> str:
    """«сообщества: есть · товары: нет · фотографии: не проверено», with why something stayed unknown."""
    rights = Rights.from_profile(profile)
    text = " · ".join(f"{LABELS[name]}: {RIGHT_MARKS[getattr(rights, name)]}" for name in RIGHTS)
    return f"{text} ({rights.note})" if rights.note else text
