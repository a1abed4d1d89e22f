"""The sync configuration: validation with Russian messages, all-or-nothing saves, the confirmation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connhub.db import execute_write
from connhub.sync import config, confirmation, policies
from connhub.sync.config import (
    CannotEnable,
    Choices,
    Community,
    ConfirmationOutdated,
    InvalidSettings,
    SyncSettings,
)
from connhub.sync.policies import NotForSalePolicy, RemovedPolicy, ZeroPricePolicy

STORE = "20170228-F4F1-401B-80FA-9ECCA8451FFB"
OTHER_STORE = "20190412-A1B2-4C3D-8E9F-0A1B2C3D4E5F"
CHOICES = Choices(
    stores={STORE: "Чайная", OTHER_STORE: "Кофейня на Садовой"},
    communities={218252175: Community(218252175, "Магазин у дома", True), 1: Community(1, "VK API", False)},
    categories={500: "Продукты питания / Напитки", 101: "Гардероб / Мужская одежда"},
)


def form(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "store_id": STORE, "vk_group_id": 218252175, "vk_category_id": 500,
        "on_removed": "hide", "on_not_for_sale": "hide", "on_zero_price": "skip",
        "price_multiplier": "1", "description_template": policies.DEFAULT_TEMPLATE,
    }
    values.update(changes)
    return values


def save(rt, user, **changes):
    with rt.sessions.begin() as session:
        return config.save_settings(session, user.id, form(**changes), CHOICES)


def load(rt, user):
    with rt.sessions() as session:
        return config.get_config(session, user.id)


def test_a_user_without_a_saved_configuration_sees_the_defaults_and_the_sync_off(rt, alice):
    view = load(rt, alice)
    assert not view.exists and not view.enabled and not view.is_on
    policies = view.settings.policies
    assert policies.on_removed is RemovedPolicy.HIDE
    assert policies.on_not_for_sale is NotForSalePolicy.HIDE
    assert policies.on_zero_price is ZeroPricePolicy.SKIP
    assert policies.price_multiplier == Decimal("1.00")
    assert policies.description_template == "{name} (цена за {measure})"


def test_saving_keeps_every_field_with_the_names_from_the_lists(rt, alice):
    save(rt, alice, on_removed="delete", on_not_for_sale="publish", on_zero_price="publish",
         price_multiplier="1,15", description_template="{name}, арт. {article}: {price} ₽")
    view = load(rt, alice)
    settings = view.settings
    assert view.exists
    assert (settings.store_id, settings.store_name) == (STORE, "Чайная")
    assert (settings.vk_group_id, settings.vk_group_name, settings.vk_group_goods_enabled) == (
        218252175, "Магазин у дома", True)
    assert (settings.vk_category_id, settings.vk_category_name) == (500, "Продукты питания / Напитки")
    assert settings.policies.as_dict() == {
        "on_removed": "delete", "on_not_for_sale": "publish", "on_zero_price": "publish",
        "price_multiplier": "1.15", "description_template": "{name}, арт. {article}: {price} ₽",
    }


@pytest.mark.parametrize(("raw", "message"), [
    ("0", "Множитель цены должен быть больше нуля"),
    ("-1.5", "Множитель цены должен быть больше нуля"),
    ("1.155", "не больше двух знаков после запятой"),
    ("полтора", "Множитель цены должен быть числом"),
    ("", "Укажите множитель цены"),
    ("NaN", "Множитель цены должен быть числом"),
    ("1e9", "не может быть больше 1000"),
])
def test_a_bad_multiplier_is_refused_with_the_reason(raw, message):
    with pytest.raises(ValueError, match=message):
        policies.parse_multiplier(raw)


@pytest.mark.parametrize(("raw", "value"), [("1", "1.00"), ("1,5", "1.50"), (" 2.25 ", "2.25"), ("0.01", "0.01")])
def test_a_multiplier_keeps_two_exact_decimals(raw, value):
    assert policies.format_multiplier(policies.parse_multiplier(raw)) == value


@pytest.mark.parametrize(("template", "message"), [
    ("", "Шаблон описания не может быть пустым"),
    ("{name} за {unit}", r"неизвестная подстановка \{unit\}; можно \{name\}, \{measure\}"),
    ("{name.upper}", r"неизвестная подстановка \{name.upper\}"),
    ("{name[0]} товар", r"неизвестная подстановка"),
    ("{} товар", r"неизвестная подстановка \{\}"),
    ("{name:>20} товар", r"неизвестная подстановка \{name:>20\}"),
    ("{name!r} товар", r"неизвестная подстановка \{name!r\}"),
    ("{name товар", "непарная фигурная скобка"),
    ("{name} подробнее на https://example.com/x", "ссылка «https://example.com/x»"),
    ("{name}, заказ на shop.example.ru", "ссылка «shop.example.ru»"),
    ("{name} www.vk.com", "ссылка"),
    ("x" * 1001, "длиннее 1000 символов"),
])
def test_a_bad_template_is_refused_with_the_reason(template, message):
    with pytest.raises(ValueError, match=message):
        policies.parse_template(template)


@pytest.mark.parametrize("template", [
    "{name} (цена за {measure})",
    "{name}. {description} Артикул {article}, {price} руб. за {measure}",
    "Цена {{скидка}} {name}",
    "{name} — 1.5 кг, т.д.",
])
def test_good_templates_pass(template):
    assert policies.parse_template(template) == template


def test_saving_bad_values_names_every_bad_field_and_writes_nothing(rt, alice):
    save(rt, alice)
    before = load(rt, alice)
    with pytest.raises(InvalidSettings) as caught:
        save(rt, alice, store_id="no-such-store", vk_group_id=999, vk_category_id="abc", on_removed="burn",
             price_multiplier="0", description_template="{nope}", on_zero_price="publish")
    errors = caught.value.errors
    assert set(errors) == {"store_id", "vk_group_id", "vk_category_id", "on_removed", "price_multiplier",
                           "description_template"}
    assert "Такого магазина нет в каталоге" in errors["store_id"]
    assert "не из тех, которыми вы управляете" in errors["vk_group_id"]
    assert "Непонятный номер категории" in errors["vk_category_id"]
    assert "выберите одно из: «скрывать», «удалять»" in errors["on_removed"]
    assert load(rt, alice) == before  # the good field (zero price) was not saved either


def test_the_saved_choice_stays_valid_when_its_list_cannot_be_had(rt, alice):
    save(rt, alice)
    offline = Choices(stores=CHOICES.stores, communities=None, categories=None)
    with rt.sessions.begin() as session:
        view = config.save_settings(session, alice.id, form(price_multiplier="2"), offline)
    assert view.settings.vk_group_name == "Магазин у дома" and view.settings.vk_category_id == 500
    assert view.settings.policies.price_multiplier == Decimal("2.00")
    with rt.sessions.begin() as session, pytest.raises(InvalidSettings) as caught:
        config.save_settings(session, alice.id, form(vk_group_id=1), offline)
    assert set(caught.value.errors) == {"vk_group_id"}


def test_configurations_are_per_user(rt, alice, bob):
    save(rt, alice)
    assert load(rt, bob).exists is False
    save(rt, bob, store_id=OTHER_STORE)
    assert load(rt, alice).settings.store_name == "Чайная"
    assert load(rt, bob).settings.store_name == "Кофейня на Садовой"


def enable(rt, user, ids, shown=None):
    with rt.sessions() as session:
        settings = config.get_config(session, user.id).settings
    return execute_write(rt.sessions, lambda session: config.enable(
        session, user.id, confirmed_by="alice@example.test",
        shown=shown or confirmation.make_snapshot(settings, ids), product_ids=ids))


def test_switching_on_records_who_confirmed_what_and_when(rt, alice):
    save(rt, alice)
    view = enable(rt, alice, ["p1", "p2"])
    assert view.enabled and view.is_on
    assert view.confirmed_by == "alice@example.test" and view.confirmed_at is not None
    assert view.confirmed_snapshot["products_count"] == 2
    assert view.confirmed_snapshot["vk_group_name"] == "Магазин у дома"
    assert load(rt, alice).is_on


def test_switching_off_takes_effect_at_once_and_a_new_confirmation_is_needed(rt, alice):
    save(rt, alice)
    enable(rt, alice, ["p1"])
    with rt.sessions.begin() as session:
        view = config.disable(session, alice.id)
    assert not view.enabled and not view.is_on
    assert not load(rt, alice).is_on


def test_a_confirmation_of_what_is_no_longer_true_is_refused(rt, alice):
    save(rt, alice)
    with rt.sessions() as session:
        shown = confirmation.make_snapshot(config.get_config(session, alice.id).settings, ["p1", "p2"])
    save(rt, alice, store_id=OTHER_STORE)  # changed in another tab meanwhile
    with pytest.raises(ConfirmationOutdated):
        enable(rt, alice, ["p1", "p2"], shown=shown)
    assert not load(rt, alice).enabled


def test_the_sync_cannot_be_switched_on_without_a_source_and_a_target(rt, alice):
    with pytest.raises(CannotEnable, match="выберите магазин"):
        enable(rt, alice, [])
    save(rt, alice, vk_group_id="")
    with pytest.raises(CannotEnable, match="выберите сообщество"):
        enable(rt, alice, ["p1"])


def test_later_changes_keep_the_sync_on_and_say_what_changed(rt, alice):
    save(rt, alice)
    confirmed = enable(rt, alice, ["p1", "p2", "p3"])
    save(rt, alice, vk_group_id=1, on_removed="delete", price_multiplier="1.2", description_template="{name}!!!!!!!!")
    view = load(rt, alice)
    assert view.is_on
    current = confirmation.make_snapshot(view.settings, ["p1", "p2"])
    assert confirmation.changes_since_confirmation(confirmed.confirmed_snapshot, current) == [
        "Сообщество: было «Магазин у дома», теперь «VK API»",
        "Товары вне выгрузки: было «скрывать», теперь «удалять»",
        "Множитель цены: был 1.00, теперь 1.20",
        "Шаблон описания изменён",
        "Товаров в выгрузке: было 3, теперь 2",
    ]


def test_a_different_selection_of_the_same_size_is_a_change_too():
    settings = SyncSettings(store_id=STORE, store_name="Чайная", vk_group_id=1, vk_group_name="VK API")
    then = confirmation.make_snapshot(settings, ["a", "b"])
    assert confirmation.changes_since_confirmation(then, confirmation.make_snapshot(settings, ["b", "a"])) == []
    assert confirmation.changes_since_confirmation(then, confirmation.make_snapshot(settings, ["a", "c"])) == [
        "Состав товаров в выгрузке изменился (их по-прежнему 2)"]


def test_the_confirmation_says_exactly_what_will_happen():
    settings = SyncSettings(store_id=STORE, store_name="Чайная", vk_group_id=1, vk_group_name="Магазин у дома")
    assert confirmation.confirmation_text(settings, 21) == (
        "В сообщество «Магазин у дома» будут выгружены 21 товар из магазина «Чайная»; "
        "товары, исключённые из выгрузки, будут скрыты.")
    assert "12 товаров" in confirmation.confirmation_text(settings, 12)
