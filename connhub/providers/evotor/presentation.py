"""How Evotor is offered and how its account is shown (as data; pages render it)."""

from __future__ import annotations

from typing import Any

from connhub.providers.base import ProviderInfo
from connhub.providers.presentation import AccountPresentation, Table

INFO = ProviderInfo(
    key="evotor",
    title="Эвотор",
    icon=":material/storefront:",
    description="Подключите кассу Эвотор для синхронизации каталога товаров.",
    supports_token_paste=True,
    token_hint=(
        "Токен приложения из Личного кабинета Эвотор, вида f46b89a5-8e80-4591-b0aa-94551790444b. "
        "Мы сразу проверим его в Эвотор и сохраним, только если он работает."
    ),
)


def account(profile: dict[str, Any]) -> AccountPresentation:
    """The account's stores as a table."""
    stores = [store for store in profile.get("stores") or [] if isinstance(store, dict)]
    rows = tuple(
        (str(store.get("name", "")), str(store.get("address", "")), str(store.get("id", ""))) for store in stores
    )
    return AccountPresentation(tables=(Table(("Название", "Адрес", "ID"), rows, "В аккаунте Эвотор нет магазинов."),))
