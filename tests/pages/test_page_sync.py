"""«Синхронизация»: the page's states, saving (good and bad values), and the confirmed master toggle."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connhub.models import Status
from connhub.sync import config, target
from connhub.sync.target import TargetOptions
from tests.pages.helpers import blocks, keyed_block, page_text, toasts
from tests.support.sync import (
    CATEGORIES,
    COMMUNITIES,
    GOODS_OFF_GROUP,
    STORE,
    add_rule,
    connect_both,
    load_catalog,
    save_config,
    switch_on,
)

SYNC = "pages/sync.py"


@pytest.fixture(autouse=True)
def vk_lists(monkeypatch):
    """What groups.get and market.getCategories list for the VK account (the page's live calls)."""
    options = TargetOptions(communities=dict(COMMUNITIES), categories=dict(CATEGORIES))
    calls: list[int] = []

    def listed(rt, user_id):
        calls.append(user_id)
        return options

    monkeypatch.setattr(target, "target_options", listed)
    return calls


def line_text(at, check: str) -> str:
    block = keyed_block(at, f"ready-{check}")
    assert block is not None, f"no checklist line {check}"
    return page_text(block)


def is_green(at, check: str) -> bool:
    block = keyed_block(at, f"ready-{check}")
    return any(":green[" in element.value for element in block.markdown)


def stored(rt, user):
    with rt.sessions() as session:
        return config.get_config(session, user.id)


def set_up(rt, sandbox_control, user, **config_changes):
    source_id, _ = connect_both(rt, sandbox_control, user)
    load_catalog(rt, source_id)
    save_config(rt, user, **config_changes)
    return source_id


def test_without_connections_the_page_says_what_to_connect_and_every_line_is_red(open_app, alice, vk_lists):
    at = open_app(alice, page=SYNC)
    assert not at.exception
    assert [title.value for title in at.title] == ["Синхронизация"]
    text = page_text(at)
    assert "Эвотор не подключён." in text and "ВКонтакте не подключён." in text
    assert "Эвотор не подключён" in line_text(at, "source_connection")
    assert "Подключите Эвотор на странице «Добавить подключение»." in line_text(at, "source_connection")
    for check in ("catalog", "target_connection", "target_rights", "community", "category", "products"):
        assert not is_green(at, check)
    assert at.toggle(key="sync-enabled").disabled
    assert vk_lists == []  # nothing to list without a VK connection


def test_without_a_catalog_the_page_asks_to_load_it(open_app, app_rt, alice, sandbox_control):
    connect_both(app_rt, sandbox_control, alice)
    at = open_app(alice, page=SYNC)
    assert not at.exception
    assert "Каталог ещё не загружен: магазины появятся после обновления каталога." in page_text(at)
    assert "Каталог ещё не загружен" in line_text(at, "catalog")
    assert "Обновить каталог" in line_text(at, "catalog")


def test_everything_set_up_makes_every_line_green(open_app, app_rt, alice, sandbox_control):
    set_up(app_rt, sandbox_control, alice)
    at = open_app(alice, page=SYNC)
    assert not at.exception
    for check in ("source_connection", "catalog", "target_connection", "target_rights", "community", "category",
                  "products"):
        assert is_green(at, check), line_text(at, check)
    assert "Каталог загружен 2 часа назад" in line_text(at, "catalog")
    assert "Выбрано 5 товаров" in line_text(at, "products")
    assert "Правил нет — в выгрузке весь магазин: будет выгружено 5 из 5 товаров" in page_text(at)
    assert not at.toggle(key="sync-enabled").disabled and at.toggle(key="sync-enabled").value is False


RED_STATES = {
    "source_connection": (dict(source=Status.OFFLINE), {}, "Нет связи с Эвотор: Эвотор не ответил вовремя"),
    "target_connection": (dict(target=Status.RECONNECT), {}, "ВКонтакте требует переподключения"),
    "target_rights": (dict(rights=["groups"]), {}, "У токена ВКонтакте нет прав: товары, фотографии"),
    "community": ({}, dict(vk_group_id=GOODS_OFF_GROUP), "В сообществе «VK API» выключены товары"),
    "category": ({}, dict(vk_category_id=""), "Категория товаров не выбрана"),
    "products": ({}, {}, "Ни один товар не выбран для выгрузки"),
}


@pytest.mark.parametrize("check", list(RED_STATES))
def test_each_red_checklist_line_says_what_to_fix(open_app, app_rt, alice, check, sandbox_control):
    connection_state, config_changes, message = RED_STATES[check]
    source_id, _ = connect_both(app_rt, sandbox_control, alice, **connection_state)
    load_catalog(app_rt, source_id)
    save_config(app_rt, alice, **config_changes)
    if check == "products":
        add_rule(app_rt, alice, "store", STORE, "exclude")
    at = open_app(alice, page=SYNC)
    assert not at.exception
    assert not is_green(at, check)
    assert message in line_text(at, check)
    others = [name for name in RED_STATES if name != check]
    assert all(is_green(at, name) for name in others), [line_text(at, name) for name in others]


def test_picking_a_community_with_goods_off_explains_how_to_turn_them_on(open_app, app_rt, alice, sandbox_control):
    set_up(app_rt, sandbox_control, alice)
    at = open_app(alice, page=SYNC)
    community = at.selectbox(key="sync-vk_group_id")
    assert community.options == ["Магазин у дома — товары включены", "VK API — товары выключены"]
    community.set_value(GOODS_OFF_GROUP).run()
    text = page_text(at)
    assert "В сообществе «VK API» выключены товары." in text
    assert "«Управление» → «Разделы» → «Товары» → «Включены»" in text


def test_saving_good_values_keeps_them(open_app, app_rt, alice, sandbox_control):
    set_up(app_rt, sandbox_control, alice)
    at = open_app(alice, page=SYNC)
    at.radio(key="sync-on_removed").set_value("delete")
    at.radio(key="sync-on_zero_price").set_value("publish")
    at.text_input(key="sync-price_multiplier").set_value("1,25")
    at.text_area(key="sync-description_template").set_value("{name}: {price} за {measure}")
    at.selectbox(key="sync-vk_category_id").set_value(101)
    at.button(key="save-sync").click().run()
    assert not at.exception
    assert "Настройки синхронизации сохранены" in toasts(at)
    settings = stored(app_rt, alice).settings
    assert settings.policies.on_removed == "delete" and settings.policies.on_zero_price == "publish"
    assert settings.policies.price_multiplier == Decimal("1.25")
    assert settings.policies.description_template == "{name}: {price} за {measure}"
    assert (settings.vk_category_id, settings.vk_category_name) == (101, "Гардероб / Мужская одежда")


def test_saving_bad_values_says_what_is_wrong_and_saves_nothing(open_app, app_rt, alice, sandbox_control):
    set_up(app_rt, sandbox_control, alice)
    before = stored(app_rt, alice)
    at = open_app(alice, page=SYNC)
    at.radio(key="sync-on_removed").set_value("delete")
    at.text_input(key="sync-price_multiplier").set_value("0")
    at.text_area(key="sync-description_template").set_value("{name} на https://shop.example.ru")
    at.button(key="save-sync").click().run()
    assert not at.exception
    errors = [element.value for element in at.error]
    assert any("Множитель цены должен быть больше нуля" in error for error in errors)
    assert any("ВКонтакте не принимает ссылки" in error for error in errors)
    assert any("Настройки не сохранены: исправьте отмеченные поля." in error for error in errors)
    assert stored(app_rt, alice) == before  # the good field (on_removed) was not saved either
    assert at.text_input(key="sync-price_multiplier").value == "0"  # what was typed is kept to fix


def test_the_template_is_previewed_on_a_real_product(open_app, app_rt, alice, sandbox_control):
    set_up(app_rt, sandbox_control, alice)
    add_rule(app_rt, alice, "product", "p-sencha", "include")
    at = open_app(alice, page=SYNC)
    preview = keyed_block(at, "template-preview")
    assert preview is not None
    assert "Предпросмотр на товаре «Сенча»" in page_text(preview)
    assert [element.value for element in preview.text] == ["Сенча (цена за кг)"]
    at.text_area(key="sync-description_template").set_value("{name}, арт. {article}: {price}").run()
    assert [element.value for element in keyed_block(at, "template-preview").text][0].startswith("Сенча, арт. SEN-1: 1")


def test_switching_on_asks_first_and_records_the_confirmation(open_app, app_rt, alice, sandbox_control):
    set_up(app_rt, sandbox_control, alice)
    at = open_app(alice, page=SYNC)
    at.toggle(key="sync-enabled").set_value(True).run()
    assert not at.exception
    assert not stored(app_rt, alice).enabled  # nothing happens before the confirmation
    assert ("В сообщество «Магазин у дома» будут выгружены 4 товара (4 в продаже, скрытых нет; не выгружаются "
            "1 товар: Нулевая цена: по настройке такие товары не выгружаются — 1) из магазина «Чайная»; "
            "товары, исключённые из выгрузки, будут скрыты.") in page_text(at)
    at.button(key="confirm-enable").click().run()
    assert not at.exception
    view = stored(app_rt, alice)
    assert view.is_on and view.confirmed_by == "Alice" and view.confirmed_snapshot["products_count"] == 5
    assert "Синхронизация включена" in toasts(at)
    assert at.toggle(key="sync-enabled").value is True
    assert "подтвердил(а) Alice" in page_text(at)


def test_cancelling_the_confirmation_leaves_the_sync_off(open_app, app_rt, alice, sandbox_control):
    set_up(app_rt, sandbox_control, alice)
    at = open_app(alice, page=SYNC)
    at.toggle(key="sync-enabled").set_value(True).run()
    at.button(key="cancel-enable").click().run()
    assert not stored(app_rt, alice).enabled
    assert at.toggle(key="sync-enabled").value is False
    assert "будут выгружены" not in page_text(at)


def test_switching_off_takes_effect_at_once(open_app, app_rt, alice, sandbox_control):
    set_up(app_rt, sandbox_control, alice)
    switch_on(app_rt, alice)
    at = open_app(alice, page=SYNC)
    assert at.toggle(key="sync-enabled").value is True
    at.toggle(key="sync-enabled").set_value(False).run()
    assert not at.exception
    assert not stored(app_rt, alice).enabled
    assert "Синхронизация выключена" in toasts(at)


def test_changes_after_the_confirmation_are_shown_and_the_sync_stays_on(open_app, app_rt, alice, sandbox_control):
    set_up(app_rt, sandbox_control, alice)
    switch_on(app_rt, alice)
    add_rule(app_rt, alice, "group", "g-coffee", "exclude")
    save_config(app_rt, alice, price_multiplier="2")
    at = open_app(alice, page=SYNC)
    text = page_text(at)
    assert "С момента подтверждения изменилось:" in text
    assert "Множитель цены: был 1.00, теперь 2.00" in text
    assert "Товаров в выгрузке: было 5, теперь 3" in text
    assert at.toggle(key="sync-enabled").value is True
    at.button(key="reconfirm").click().run()
    assert "будут выгружены 3 товара" in page_text(at)
    at.button(key="confirm-enable").click().run()
    assert "С момента подтверждения изменилось:" not in page_text(at)
    assert stored(app_rt, alice).confirmed_snapshot["products_count"] == 3


def test_the_sync_page_is_in_the_navigation(open_app, alice):
    at = open_app(alice)
    assert not at.exception
    at.switch_page(SYNC).run()
    assert [title.value for title in at.title] == ["Синхронизация"]


def test_the_toggle_hint_asks_for_everything_the_checklist_requires_in_the_forms_order(open_app, app_rt, alice,
                                                                                       sandbox_control):
    """Issue 15.7: the hint said «магазин, сообщество» while the checklist also required the category,
    and the checklist listed the community and category before the store (the form's reverse)."""
    set_up(app_rt, sandbox_control, alice, vk_category_id=None)
    at = open_app(alice, page=SYNC)
    toggle = at.toggle(key="sync-enabled")
    assert toggle.disabled
    assert "категорию" in toggle.help, toggle.help
    assert "Чтобы включить, выберите и сохраните: категорию." in page_text(at)
    shown = [block.proto.id.rsplit("-ready-", 1)[1] for block in blocks(at.main)
             if "-ready-" in (getattr(getattr(block, "proto", None), "id", "") or "")]
    assert shown == ["source_connection", "catalog", "products", "target_connection", "target_rights", "community",
                     "category"]
