"""What a confirmation covers, what it says, and what changed since.

Switching the sync on records a snapshot of everything that decides what is published and where:
source, target, policies and the selected products (as a count and a digest, not the ids).
Comparing it with a snapshot made now says, in Russian, what changed since the confirmation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from connhub.sync.policies import NOT_FOR_SALE_LABELS, REMOVED_LABELS, ZERO_PRICE_LABELS, RemovedPolicy, plural

if TYPE_CHECKING:
    from connhub.sync.config import SyncSettings
    from connhub.sync.forecast import Forecast


def products_digest(product_ids: Iterable[str]) -> str:
    joined = "\n".join(sorted(set(product_ids)))
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


def make_snapshot(settings: SyncSettings, product_ids: Iterable[str]) -> dict[str, Any]:
    """What a confirmation covers: everything that decides what is published, and where."""
    ids = set(product_ids)
    return {
        "store_id": settings.store_id,
        "store_name": settings.store_name,
        "vk_group_id": settings.vk_group_id,
        "vk_group_name": settings.vk_group_name,
        "vk_category_id": settings.vk_category_id,
        "vk_category_name": settings.vk_category_name,
        "policies": settings.policies.as_dict(),
        "products_count": len(ids),
        "products_digest": products_digest(ids),
    }


def confirmation_text(settings: SyncSettings, products_count: int, forecast: Forecast | None = None) -> str:
    """What switching on will do, exactly; the confirmation dialog shows this. With the forecast
    (`connhub.sync.forecast`, the run's own computation): how many go on sale, hidden, skipped."""
    removal = "удалены" if settings.policies.on_removed is RemovedPolicy.DELETE else "скрыты"
    if forecast is None:
        what = f"{products_count} {plural(products_count, 'товар', 'товара', 'товаров')}"
    else:
        shown = forecast.published
        what = f"{shown} {plural(shown, 'товар', 'товара', 'товаров')} ({forecast.text()})"
    return (f"В сообщество «{settings.vk_group_name}» будут выгружены {what} из магазина "
            f"«{settings.store_name}»; товары, исключённые из выгрузки, будут {removal}.")


def changes_since_confirmation(confirmed: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What differs, in Russian, between the confirmed snapshot and the current one."""
    if not confirmed:
        return []
    changes: list[str] = []
    if confirmed.get("store_id") != current.get("store_id"):
        changes.append(f"Магазин: был «{confirmed.get('store_name') or '—'}», "
                       f"теперь «{current.get('store_name') or '—'}»")
    if confirmed.get("vk_group_id") != current.get("vk_group_id"):
        changes.append(f"Сообщество: было «{confirmed.get('vk_group_name') or '—'}», "
                       f"теперь «{current.get('vk_group_name') or '—'}»")
    if confirmed.get("vk_category_id") != current.get("vk_category_id"):
        changes.append(f"Категория товаров: была «{confirmed.get('vk_category_name') or '—'}», "
                       f"теперь «{current.get('vk_category_name') or '—'}»")
    then, now = confirmed.get("policies") or {}, current.get("policies") or {}
    policy_labels: tuple[tuple[str, str, Mapping[str, str]], ...] = (
        ("on_removed", "Товары вне выгрузки", {str(k): v for k, v in REMOVED_LABELS.items()}),
        ("on_not_for_sale", "Товары не для продажи", {str(k): v for k, v in NOT_FOR_SALE_LABELS.items()}),
        ("on_zero_price", "Товары с нулевой ценой", {str(k): v for k, v in ZERO_PRICE_LABELS.items()}),
    )
    for key, what, labels in policy_labels:
        if then.get(key) != now.get(key):
            before = labels.get(str(then.get(key)), str(then.get(key) or "—"))
            after = labels.get(str(now.get(key)), str(now.get(key) or "—"))
            changes.append(f"{what}: было «{before}», теперь «{after}»")
    if then.get("price_multiplier") != now.get("price_multiplier"):
        changes.append(f"Множитель цены: был {then.get('price_multiplier')}, теперь {now.get('price_multiplier')}")
    if then.get("description_template") != now.get("description_template"):
        changes.append("Шаблон описания изменён")
    count_then, count_now = confirmed.get("products_count", 0), current.get("products_count", 0)
    if count_then != count_now:
        changes.append(f"Товаров в выгрузке: было {count_then}, теперь {count_now}")
    elif confirmed.get("products_digest") != current.get("products_digest"):
        changes.append(f"Состав товаров в выгрузке изменился (их по-прежнему {count_now})")
    return changes
