"""The sync configuration: one per user, validated as a whole, switched on only by a confirmation.

What goes where (the Evotor store, the VK community and goods category), how (the policies)
and whether the sync is on. Saving checks every field and writes all of them in one
transaction or none; each problem comes back as a Russian message under the field's name.

Switching on is a deliberate act: `enable` records who confirmed, when, and a snapshot of what
the confirmation covered (source, target, policies and the selected products as a count and a
digest). Later changes keep the sync on; `changes_since_confirmation` says what differs from
what was confirmed. Switching off takes effect at once.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connhub.db import begin_write
from connhub.models import SyncConfig, utcnow
from connhub.sync import mapping

DEFAULT_TEMPLATE = mapping.DEFAULT_TEMPLATE
# The product fields a description template may name (the mapping's list), with what each means.
PLACEHOLDER_HELP: dict[str, str] = {
    "name": "название товара",
    "measure": "единица измерения",
    "article": "артикул",
    "description": "описание из Эвотор",
    "price": "цена в рублях (с множителем)",
}
PLACEHOLDERS: dict[str, str] = {name: PLACEHOLDER_HELP.get(name, name) for name in mapping.TEMPLATE_FIELDS}
TEMPLATE_MAX_LENGTH = 1000
MULTIPLIER_MAX = Decimal("1000")
CENT = Decimal("0.01")



class RemovedPolicy(StrEnum):
    """What happens on VK to an item whose product left the selection or was deleted in Evotor."""

    HIDE = "hide"  # market.edit deleted=1: reversible
    DELETE = "delete"  # market.delete


# Not for sale (hide|publish) and zero price (skip|publish) are the mapping's own enums.
NotForSalePolicy = mapping.NotForSale
ZeroPricePolicy = mapping.ZeroPrice

REMOVED_LABELS = {RemovedPolicy.HIDE: "скрывать", RemovedPolicy.DELETE: "удалять"}
NOT_FOR_SALE_LABELS = {NotForSalePolicy.HIDE: "скрывать", NotForSalePolicy.PUBLISH: "всё равно публиковать"}
ZERO_PRICE_LABELS = {ZeroPricePolicy.SKIP: "не выгружать", ZeroPricePolicy.PUBLISH: "публиковать"}

# Field names, as the page's widgets and InvalidSettings.errors use them.
FIELDS = ("store_id", "vk_group_id", "vk_category_id", "on_removed", "on_not_for_sale", "on_zero_price",
          "price_multiplier", "description_template")



# ----------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Policies:
    on_removed: RemovedPolicy = RemovedPolicy.HIDE
    on_not_for_sale: NotForSalePolicy = NotForSalePolicy.HIDE
    on_zero_price: ZeroPricePolicy = ZeroPricePolicy.SKIP
    price_multiplier: Decimal = Decimal("1.00")
    description_template: str = DEFAULT_TEMPLATE

    def as_dict(self) -> dict[str, str]:
        """Plain strings, as read_config prints them and snapshots keep them (exact decimals)."""
        return {
            "on_removed": self.on_removed.value,
            "on_not_for_sale": self.on_not_for_sale.value,
            "on_zero_price": self.on_zero_price.value,
            "price_multiplier": format_multiplier(self.price_multiplier),
            "description_template": self.description_template,
        }


@dataclass(frozen=True)
class SyncSettings:
    """Everything the page saves: source, target and policies."""

    store_id: str = ""
    store_name: str = ""
    vk_group_id: int | None = None
    vk_group_name: str = ""
    vk_group_goods_enabled: bool = False
    vk_category_id: int | None = None
    vk_category_name: str = ""
    policies: Policies = field(default_factory=Policies)


@dataclass(frozen=True)
class SyncConfigView:
    user_id: int
    settings: SyncSettings
    exists: bool = False  # False: nothing saved yet (the defaults are shown)
    enabled: bool = False  # the master toggle
    confirmed_at: datetime | None = None
    confirmed_by: str = ""
    confirmed_snapshot: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None

    @property
    def is_on(self) -> bool:
        """On and confirmed: the only state in which a sync may run."""
        return self.enabled and self.confirmed_at is not None


@dataclass(frozen=True)
class Community:
    """A VK community the user may pick: one the VK account administers or edits."""

    id: int
    name: str
    goods_enabled: bool


@dataclass(frozen=True)
class Choices:
    """What the user may pick from, as the page listed it.

    None means the list could not be had (say VK is offline): then only the saved value is
    accepted for that field, so the other fields can still be saved.
    """

    stores: Mapping[str, str] | None = None  # store id → name
    communities: Mapping[int, Community] | None = None
    categories: Mapping[int, str] | None = None  # category id → name as shown


class InvalidSettings(ValueError):
    """Some fields are wrong; `errors` maps each field to what is wrong with it, in Russian."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = dict(errors)


class ConfirmationOutdated(Exception):
    """What the confirmation showed is no longer what would be published."""


class CannotEnable(Exception):
    """The sync cannot be switched on yet; the message says why, in Russian."""


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


def format_multiplier(value: Decimal) -> str:
    return str(value.quantize(CENT))


def parse_multiplier(raw: object) -> Decimal:
    """A positive price multiplier with at most two decimals; a comma is a decimal point too."""
    text = str(raw if raw is not None else "").strip().replace(",", ".").replace(" ", "")
    if not text:
        raise ValueError("Укажите множитель цены, например 1 или 1,15")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"Множитель цены должен быть числом, например 1 или 1,15 (введено «{raw}»)") from None
    if not value.is_finite():
        raise ValueError("Множитель цены должен быть числом, например 1 или 1,15")
    if value <= 0:
        raise ValueError("Множитель цены должен быть больше нуля")
    if value != value.quantize(CENT):
        raise ValueError("Множитель цены — не больше двух знаков после запятой, например 1,15")
    if value > MULTIPLIER_MAX:
        raise ValueError(f"Множитель цены не может быть больше {MULTIPLIER_MAX}")
    return value.quantize(CENT)


def template_fields(template: str) -> list[str]:
    """The placeholders a template names, in order (ValueError on broken braces)."""
    return [name for _text, name, _spec, _conv in string.Formatter().parse(template) if name is not None]


def find_link(text: str) -> str | None:
    """A link as VK sees one in a description (error 1408), by the mapping's definition."""
    match = mapping.LINK.search(text)
    return match[0] if match else None


def parse_template(raw: object) -> str:
    """A description template: only the mapping's placeholders, no links, within the length limit."""
    template = str(raw if raw is not None else "").strip()
    if not template:
        raise ValueError(f"Шаблон описания не может быть пустым. Пример: {DEFAULT_TEMPLATE}")
    if len(template) > TEMPLATE_MAX_LENGTH:
        raise ValueError(f"Шаблон описания длиннее {TEMPLATE_MAX_LENGTH} символов ({len(template)})")
    problems = mapping.template_problems(template)
    if problems:
        raise ValueError("; ".join(problems))
    literal = " ".join(text for text, _name, _spec, _conv in string.Formatter().parse(template))
    link = find_link(literal)
    if link:
        raise ValueError(f"В шаблоне ссылка «{link}»: ВКонтакте не принимает ссылки в описании товара")
    return template


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


def _locked_row(session: Session, user_id: int) -> SyncConfig | None:
    begin_write(session)
    return session.scalar(select(SyncConfig).where(SyncConfig.user_id == user_id).with_for_update())


def _write(session: Session, user_id: int, change: Any) -> SyncConfigView:
    """Apply `change(row)` to the user's row (created if missing) in one write transaction."""
    for _attempt in range(2):
        row = _locked_row(session, user_id)
        if row is None:
            row = SyncConfig(user_id=user_id, confirmed_snapshot={})
            session.add(row)
        change(row)
        try:
            session.commit()
        except IntegrityError:  # the user's first save raced another one: apply it to that row
            session.rollback()
            continue
        return _view(row)
    raise RuntimeError("could not write the sync configuration")


def save_settings(session: Session, user_id: int, raw: Mapping[str, object], choices: Choices) -> SyncConfigView:
    """Validate every field, then write them all; InvalidSettings and nothing written otherwise.

    The master toggle and the confirmation are left as they are: a change that alters what
    would be published shows up in `changes_since_confirmation`.
    """
    current = get_config(session, user_id).settings
    session.rollback()
    settings = validate(raw, choices, current)

    def apply(row: SyncConfig) -> None:
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

    return _write(session, user_id, apply)


def note_community(session: Session, user_id: int, community: Community) -> None:
    """Record what VK just said about the chosen community (name, goods on or off)."""
    row = _locked_row(session, user_id)
    if row is None or row.vk_group_id != community.id or (
        row.vk_group_name == community.name and row.vk_group_goods_enabled == community.goods_enabled
    ):
        session.rollback()
        return
    row.vk_group_name = community.name
    row.vk_group_goods_enabled = community.goods_enabled
    session.commit()


# ----------------------------------------------------------------------------- the master toggle


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


def confirmation_text(settings: SyncSettings, products_count: int) -> str:
    """What switching on will do, exactly; the confirmation dialog shows this."""
    removal = "удалены" if settings.policies.on_removed is RemovedPolicy.DELETE else "скрыты"
    return (f"В сообщество «{settings.vk_group_name}» будут выгружены {products_count} "
            f"{plural(products_count, 'товар', 'товара', 'товаров')} из магазина «{settings.store_name}»; "
            f"товары, исключённые из выгрузки, будут {removal}.")


def plural(count: int, one: str, few: str, many: str) -> str:
    tail = count % 100
    if 11 <= tail <= 14:
        return many
    last = count % 10
    if last == 1:
        return one
    if 2 <= last <= 4:
        return few
    return many


def enable(session: Session, user_id: int, *, confirmed_by: str, shown: Mapping[str, Any],
           product_ids: Iterable[str]) -> SyncConfigView:
    """Switch the sync on, recording who confirmed what. `shown` is the snapshot the confirmation
    displayed; if the configuration or the selection changed since, ConfirmationOutdated."""
    ids = list(product_ids)
    row = _locked_row(session, user_id)
    if row is None:
        session.rollback()
        raise CannotEnable("Сначала выберите магазин и сообщество и сохраните настройки.")
    view = _view(row)
    if not view.settings.store_id:
        session.rollback()
        raise CannotEnable("Сначала выберите магазин Эвотор и сохраните настройки.")
    if view.settings.vk_group_id is None:
        session.rollback()
        raise CannotEnable("Сначала выберите сообщество ВКонтакте и сохраните настройки.")
    snapshot = make_snapshot(view.settings, ids)
    if snapshot != dict(shown):
        session.rollback()
        raise ConfirmationOutdated("Настройки или состав выгрузки изменились — проверьте и подтвердите снова.")
    row.enabled = True
    row.confirmed_at = utcnow()
    row.confirmed_by = confirmed_by[:320]
    row.confirmed_snapshot = snapshot
    session.commit()
    return _view(row)


def disable(session: Session, user_id: int) -> SyncConfigView:
    """Switch the sync off at once (the last confirmation stays on record)."""
    def apply(row: SyncConfig) -> None:
        row.enabled = False
    return _write(session, user_id, apply)


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
