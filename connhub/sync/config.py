"""The sync configuration: one per user, validated as a whole, switched on only by a confirmation.

What goes where (the Evotor store, the VK community and goods category), how (the policies)
and whether the sync is on. Saving checks every field and writes all of them in one
transaction or none; each problem comes back as a Russian message under the field's name.

Switching on is a deliberate act: `enable` records who confirmed, when, and a snapshot of what
the confirmation covered (`connhub.sync.confirmation`). Later changes keep the sync on; the
confirmation module says what differs from what was confirmed. Switching off takes effect at once.
The policies and their parsing are `connhub.sync.policies`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connhub.journal import hooks as journal_hooks
from connhub.models import SyncConfig, utcnow
from connhub.sync.confirmation import make_snapshot
from connhub.sync.policies import (
    NOT_FOR_SALE_LABELS,
    REMOVED_LABELS,
    ZERO_PRICE_LABELS,
    NotForSalePolicy,
    Policies,
    RemovedPolicy,
    ZeroPricePolicy,
    format_multiplier,
    parse_multiplier,
    parse_template,
)
from connhub.sync.values import (  # re-exported: the pages and tests find them here
    FIELDS,
    CannotEnable,
    Choices,
    Community,
    ConfirmationOutdated,
    InvalidSettings,
    SyncConfigView,
    SyncSettings,
)

__all__ = ["FIELDS", "CannotEnable", "Choices", "Community", "ConfirmationOutdated", "InvalidSettings",
           "SyncConfigView", "SyncSettings", "disable", "enable", "get_config", "note_community", "save_settings",
           "validate"]

# ----------------------------------------------------------------------------- values
# The value types live in connhub.sync.values; re-exported here, where the pages look for them.

# ----------------------------------------------------------------------------- reading


def _view(row: SyncConfig) -> SyncConfigView:
    return SyncConfigView(
        user_id=row.user_id,
        settings=SyncSettings(
            store_id=row.evotor_store_id,
            store_name=row.evotor_store_name,
            vk_group_id=row.vk_group_id,
            vk_group_name=row.vk_group_name,
            vk_group_goods_enabled=row.vk_group_goods_enabled,
            vk_category_id=row.vk_category_id,
            vk_category_name=row.vk_category_name,
            policies=Policies(
                on_removed=RemovedPolicy(row.on_removed),
                on_not_for_sale=NotForSalePolicy(row.on_not_for_sale),
                on_zero_price=ZeroPricePolicy(row.on_zero_price),
                price_multiplier=Decimal(row.price_multiplier),
                description_template=row.description_template,
            ),
        ),
        exists=True,
        enabled=row.enabled,
        confirmed_at=row.confirmed_at,
        confirmed_by=row.confirmed_by,
        confirmed_snapshot=dict(row.confirmed_snapshot or {}),
        updated_at=row.updated_at,
    )


def get_config(session: Session, user_id: int) -> SyncConfigView:
    """The user's configuration, or the defaults (exists=False) when none was saved yet."""
    row = session.scalar(select(SyncConfig).where(SyncConfig.user_id == user_id))
    return _view(row) if row is not None else SyncConfigView(user_id=user_id, settings=SyncSettings())


# ----------------------------------------------------------------------------- validation


def _parse_id(raw: object, what: str) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValueError(f"Непонятный номер {what}")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError(f"Непонятный номер {what}: «{raw}»") from None
    if value <= 0:
        raise ValueError(f"Непонятный номер {what}: «{raw}»")
    return value


def _parse_enum(enum: type[Any], raw: object, labels: Mapping[Any, str], what: str) -> Any:
    try:
        return enum(str(raw))
    except ValueError:
        options = ", ".join(f"«{label}»" for label in labels.values())
        raise ValueError(f"{what}: выберите одно из: {options}") from None


def validate(raw: Mapping[str, object], choices: Choices, current: SyncSettings) -> SyncSettings:
    """Every field checked; InvalidSettings names each bad one. Names come from the choices."""
    errors: dict[str, str] = {}
    settings: dict[str, Any] = {}

    store_id = str(raw.get("store_id") or "").strip()
    if not store_id:
        settings.update(store_id="", store_name="")
    elif choices.stores is not None and store_id in choices.stores:
        settings.update(store_id=store_id, store_name=choices.stores[store_id])
    elif store_id == current.store_id:
        settings.update(store_id=store_id, store_name=current.store_name)
    else:
        errors["store_id"] = "Такого магазина нет в каталоге Эвотор. Обновите каталог и выберите магазин из списка."

    try:
        group_id = _parse_id(raw.get("vk_group_id"), "сообщества")
    except ValueError as exc:
        errors["vk_group_id"] = str(exc)
    else:
        if group_id is None:
            settings.update(vk_group_id=None, vk_group_name="", vk_group_goods_enabled=False)
        elif choices.communities is not None and group_id in choices.communities:
            community = choices.communities[group_id]
            settings.update(vk_group_id=group_id, vk_group_name=community.name,
                            vk_group_goods_enabled=community.goods_enabled)
        elif group_id == current.vk_group_id:
            settings.update(vk_group_id=group_id, vk_group_name=current.vk_group_name,
                            vk_group_goods_enabled=current.vk_group_goods_enabled)
        else:
            errors["vk_group_id"] = ("Это сообщество не из тех, которыми вы управляете во ВКонтакте. "
                                     "Выберите сообщество из списка.")

    try:
        category_id = _parse_id(raw.get("vk_category_id"), "категории")
    except ValueError as exc:
        errors["vk_category_id"] = str(exc)
    else:
        if category_id is None:
            settings.update(vk_category_id=None, vk_category_name="")
        elif choices.categories is not None and category_id in choices.categories:
            settings.update(vk_category_id=category_id, vk_category_name=choices.categories[category_id])
        elif category_id == current.vk_category_id:
            settings.update(vk_category_id=category_id, vk_category_name=current.vk_category_name)
        else:
            errors["vk_category_id"] = "Такой категории товаров ВКонтакте нет. Выберите категорию из списка."

    policies: dict[str, Any] = {}
    for name, enum, labels, what in (
        ("on_removed", RemovedPolicy, REMOVED_LABELS, "Товар вне выгрузки или удалён"),
        ("on_not_for_sale", NotForSalePolicy, NOT_FOR_SALE_LABELS, "Товар не для продажи"),
        ("on_zero_price", ZeroPricePolicy, ZERO_PRICE_LABELS, "Нулевая цена"),
    ):
        try:
            policies[name] = _parse_enum(enum, raw.get(name), labels, what)
        except ValueError as exc:
            errors[name] = str(exc)
    for name, parse in (("price_multiplier", parse_multiplier), ("description_template", parse_template)):
        try:
            policies[name] = parse(raw.get(name))
        except ValueError as exc:
            errors[name] = str(exc)

    if errors:
        raise InvalidSettings({name: errors[name] for name in FIELDS if name in errors})
    return SyncSettings(policies=Policies(**policies), **settings)


# ----------------------------------------------------------------------------- writing


# Functions that take a Session never commit: the door (connhub.sync.service) runs them inside
# `db.execute_write`, which holds the write lock and commits once.


def _locked_row(session: Session, user_id: int) -> SyncConfig | None:
    return session.scalar(select(SyncConfig).where(SyncConfig.user_id == user_id).with_for_update())


def locked_row(session: Session, user_id: int) -> SyncConfig:
    """The user's row, locked for this write transaction; created (flushed) when missing."""
    row = _locked_row(session, user_id)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = SyncConfig(user_id=user_id, confirmed_snapshot={})
            session.add(row)
    except IntegrityError:  # the user's first save raced another one: use that row
        row = _locked_row(session, user_id)
        if row is None:
            raise RuntimeError("could not write the sync configuration") from None
    return row


def _write(session: Session, user_id: int, change: Any) -> SyncConfigView:
    """Apply `change(row)` to the user's row (created if missing); flushed, not committed."""
    row = locked_row(session, user_id)
    change(row)
    session.flush()
    return _view(row)


def save_settings(session: Session, user_id: int, raw: Mapping[str, object], choices: Choices) -> SyncConfigView:
    """Validate every field, then write them all; InvalidSettings and nothing written otherwise.

    The master toggle and the confirmation are left as they are: a change that alters what
    would be published shows up in `changes_since_confirmation`.
    """
    current = get_config(session, user_id).settings
    settings = validate(raw, choices, current)

    def apply(row: SyncConfig) -> None:
        before = journal_hooks.sync_settings_of(row)  # lane notify: the journal's "old → new"
        row.evotor_store_id = settings.store_id
        row.evotor_store_name = settings.store_name
        row.vk_group_id = settings.vk_group_id
        row.vk_group_name = settings.vk_group_name
        row.vk_group_goods_enabled = settings.vk_group_goods_enabled
        row.vk_category_id = settings.vk_category_id
        row.vk_category_name = settings.vk_category_name
        row.on_removed = settings.policies.on_removed
        row.on_not_for_sale = settings.policies.on_not_for_sale
        row.on_zero_price = settings.policies.on_zero_price
        row.price_multiplier = format_multiplier(settings.policies.price_multiplier)
        row.description_template = settings.policies.description_template
        row.updated_at = utcnow()
        journal_hooks.settings_changed(session, user_id=user_id, before=before,
                                       after=journal_hooks.sync_settings_of(row))

    return _write(session, user_id, apply)


def note_community(session: Session, user_id: int, community: Community) -> None:
    """Record what VK just said about the chosen community (name, goods on or off)."""
    row = _locked_row(session, user_id)
    if row is None or row.vk_group_id != community.id or (
        row.vk_group_name == community.name and row.vk_group_goods_enabled == community.goods_enabled
    ):
        return
    row.vk_group_name = community.name
    row.vk_group_goods_enabled = community.goods_enabled
    session.flush()


# ----------------------------------------------------------------------------- the master toggle


def enable(session: Session, user_id: int, *, confirmed_by: str, shown: Mapping[str, Any],
           product_ids: Iterable[str]) -> SyncConfigView:
    """Switch the sync on, recording who confirmed what. `shown` is the snapshot the confirmation
    displayed; if the configuration or the selection changed since, ConfirmationOutdated."""
    ids = list(product_ids)
    row = _locked_row(session, user_id)
    if row is None:
        raise CannotEnable("Сначала выберите магазин и сообщество и сохраните настройки.")
    view = _view(row)
    if not view.settings.store_id:
        raise CannotEnable("Сначала выберите магазин Эвотор и сохраните настройки.")
    if view.settings.vk_group_id is None:
        raise CannotEnable("Сначала выберите сообщество ВКонтакте и сохраните настройки.")
    snapshot = make_snapshot(view.settings, ids)
    if snapshot != dict(shown):
        raise ConfirmationOutdated("Настройки или состав выгрузки изменились — проверьте и подтвердите снова.")
    row.enabled = True
    row.confirmed_at = utcnow()
    row.confirmed_by = confirmed_by[:320]
    row.confirmed_snapshot = snapshot
    journal_hooks.sync_switched(session, user_id=user_id, on=True, confirmed_by=confirmed_by,
                                confirmed=f"{view.settings.store_name} → {view.settings.vk_group_name}, "
                                          f"товаров: {len(ids)}")
    session.flush()
    return _view(row)


def disable(session: Session, user_id: int) -> SyncConfigView:
    """Switch the sync off at once (the last confirmation stays on record)."""
    def apply(row: SyncConfig) -> None:
        if row.enabled:
            journal_hooks.sync_switched(session, user_id=user_id, on=False)
        row.enabled = False
    return _write(session, user_id, apply)
