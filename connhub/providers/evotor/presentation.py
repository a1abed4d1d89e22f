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


def card_notes(profile: dict[str, Any]) -> tuple[str, ...]:
    """Every store of the account on the dashboard card (its heading names only the first)."""
    names = [str(store.get("name") or "") for store in profile.get("stores") or [] if isinstance(store, dict)]
    names = [name for name in names if name]
    if len(names) < 2:
        return ()
    shown = ", ".join(f"«{name}»" for name in names[:5])
    more = f" и ещё {len(names) - 5}" if len(names) > 5 else ""
    return (f"Магазинов в аккаунте: {len(names)} — {shown}{more}",)


def account(profile: dict[str, Any]) -> AccountPresentation:
    """The account's stores as a table."""
    stores = [store for store in profile.get("stores") or [] if isinstance(store, dict)]
    rows = tuple(
        (str(store.get("name", "")), str(store.get("address", "")), str(store.get("id", ""))) for store in stores
    )
    return AccountPresentation(tables=(Table(("Название", "Адрес", "ID"), rows, "В аккаунте Эвотор нет магазинов."),))


# Evotor's product types (`type`, an open string: docs/providers.md) in Russian, for the catalog's
# «Тип» filter, table and CSV. A type not listed here is shown as its code.
PRODUCT_TYPES: dict[str, str] = {
    "NORMAL": "Обычный товар",
    "SERVICE": "Услуга",
    "ALCOHOL_MARKED": "Алкоголь маркированный",
    "ALCOHOL_NOT_MARKED": "Алкоголь немаркированный",
    "BEER_MARKED": "Пиво маркированное",
    "BEER_MARKED_KEG": "Пиво маркированное (кег)",
    "TOBACCO_MARKED": "Табак маркированный",
    "TOBACCO_PRODUCTS_MARKED": "Табачная продукция маркированная",
    "SHOES_MARKED": "Обувь маркированная",
    "LIGHT_INDUSTRY_MARKED": "Одежда и текстиль маркированные",
    "DAIRY_MARKED": "Молочная продукция маркированная",
    "WATER_MARKED": "Вода маркированная",
    "MEDICINE_MARKED": "Лекарства маркированные",
    "PERFUME_MARKED": "Парфюмерия маркированная",
    "TYRES_MARKED": "Шины маркированные",
    "PHOTOS_MARKED": "Фототовары маркированные",
    "JUICE_MARKED": "Соки маркированные",
    "TEA_MARKED_2027": "Чай (маркировка с 2027 года)",
    "LOTTERY_TICKET": "Лотерейный билет",
}
