"""The readiness checklist: each line green or red, with a code, a message and how to fix it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connhub.models import Status
from connhub.sync.config import SyncSettings
from connhub.sync.readiness import CHECKS, ConnectionFacts, ReadinessFacts, age_text, evaluate, line
from connhub.sync.roles import roles
from connhub.sync.status import sync_status
from tests.support.sync import GOODS_OFF_GROUP, add_rule, connect_both, load_catalog, save_config

NOW = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
GOOD_SETTINGS = SyncSettings(store_id="s1", store_name="Чайная", vk_group_id=1, vk_group_name="Магазин у дома",
                             vk_group_goods_enabled=True, vk_category_id=500, vk_category_name="Напитки")


def facts(**changes: object) -> ReadinessFacts:
    values: dict[str, object] = dict(
        source=ConnectionFacts("Эвотор", True, Status.ONLINE),
        target=ConnectionFacts("ВКонтакте", True, Status.ONLINE),
        settings=GOOD_SETTINGS,
        catalog_refreshed_at=NOW - timedelta(hours=3),
        target_rights={"market": True, "photos": True, "groups": True},
        selected_products=12,
    )
    values.update(changes)
    return ReadinessFacts(**values)  # type: ignore[arg-type]


def test_all_green_means_ready_with_every_line_shown_in_order():
    readiness = evaluate(facts(), now=NOW)
    assert readiness.ready and readiness.problems == []
    assert [item.check for item in readiness.lines] == list(CHECKS)
    assert [item.message for item in readiness.lines] == [
        "Эвотор в сети",
        "Каталог загружен 3 часа назад",
        "Выбрано 12 товаров",
        "ВКонтакте в сети",
        "Права на товары, фотографии и сообщества есть",
        "Сообщество «Магазин у дома», товары включены",
        "Категория «Напитки»",
    ]


RED = [
    ("source_connection", "not_connected", dict(source=ConnectionFacts("Эвотор")), "Эвотор не подключён",
     "«Добавить подключение»"),
    ("source_connection", "offline", dict(source=ConnectionFacts("Эвотор", True, Status.OFFLINE, "таймаут")),
     "Нет связи с Эвотор: таймаут", "Проверить сейчас"),
    ("source_connection", "reconnect", dict(source=ConnectionFacts("Эвотор", True, Status.RECONNECT)),
     "Эвотор требует переподключения", "Переподключите Эвотор"),
    ("source_connection", "never_checked", dict(source=ConnectionFacts("Эвотор", True, Status.NEVER_CHECKED)),
     "Эвотор ещё не проверялся", "Проверить сейчас"),
    ("catalog", "not_loaded", dict(catalog_refreshed_at=None), "Каталог ещё не загружен", "Обновить каталог"),
    ("target_connection", "offline", dict(target=ConnectionFacts("ВКонтакте", True, Status.OFFLINE)),
     "Нет связи с ВКонтакте", "Проверить сейчас"),
    ("target_rights", "missing", dict(target_rights={"groups": True, "market": False, "photos": False},
                                      target_rights_setting="VK_SCOPES"),
     "У токена ВКонтакте нет прав: товары, фотографии", "VK_SCOPES"),
    ("target_rights", "unknown", dict(target_rights={"groups": True, "market": None, "photos": None},
                                      target_rights_note="нет сообщества с включёнными товарами"),
     "Не удалось проверить права: товары, фотографии (нет сообщества с включёнными товарами)", "включите их"),
    ("target_rights", "not_probed", dict(target_rights=None), "Права токена ещё не проверены", "Проверить сейчас"),
    ("community", "not_chosen", dict(settings=SyncSettings(store_id="s1", store_name="Чайная", vk_category_id=5)),
     "Сообщество не выбрано", "Выберите сообщество"),
    ("community", "goods_off", dict(settings=SyncSettings(store_id="s1", vk_group_id=1, vk_group_name="VK API",
                                                          vk_category_id=5)),
     "В сообществе «VK API» выключены товары", "Разделы → Товары"),
    ("category", "not_chosen", dict(settings=SyncSettings(store_id="s1", vk_group_id=1, vk_group_goods_enabled=True)),
     "Категория товаров не выбрана", "Выберите категорию"),
    ("products", "none_selected", dict(selected_products=0), "Ни один товар не выбран для выгрузки", "«Каталог»"),
    ("products", "no_catalog", dict(selected_products=None), "Каталог магазина «Чайная» не загружен",
     "Обновить каталог"),
    ("products", "no_store", dict(settings=SyncSettings(vk_group_id=1, vk_group_goods_enabled=True,
                                                        vk_category_id=5)), "Магазин не выбран", "Выберите магазин"),
]


@pytest.mark.parametrize(("check", "code", "changes", "message", "fix"), RED,
                         ids=[f"{check}.{code}" for check, code, *_ in RED])
def test_each_red_line_says_what_is_wrong_and_how_to_fix_it(check, code, changes, message, fix):
    readiness = evaluate(facts(**changes), now=NOW)
    item = line(readiness, check)
    assert not item.ok and item.code == code
    assert item.message.startswith(message)
    assert fix in item.fix
    assert not readiness.ready
    assert {"code": f"{check}.{code}", "message": item.message} in readiness.problems


def test_without_a_target_connection_its_rights_cannot_be_checked():
    readiness = evaluate(facts(target=ConnectionFacts("ВКонтакте"), target_rights=None), now=NOW)
    assert line(readiness, "target_rights").code == "not_connected"


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(seconds=20), "только что"), (timedelta(minutes=1), "1 минуту назад"),
    (timedelta(minutes=22), "22 минуты назад"), (timedelta(hours=5), "5 часов назад"),
    (timedelta(hours=21), "21 час назад"), (timedelta(days=3), "3 дня назад"), (timedelta(days=11), "11 дней назад"),
])
def test_the_catalog_age_reads_naturally(delta, text):
    assert age_text(NOW - delta, NOW) == text


def test_the_status_gathered_from_the_database_counts_the_rules_selection(rt, alice, sandbox_control):
    source_id, _ = connect_both(rt, sandbox_control, alice)
    load_catalog(rt, source_id)
    save_config(rt, alice)
    add_rule(rt, alice, "group", "g-tea", "include", name="Чай")
    add_rule(rt, alice, "product", "p-gyokuro", "exclude")
    status = sync_status(rt, alice.id)
    assert status.readiness.ready, status.readiness.problems
    assert sorted(status.product_ids) == ["p-assam", "p-sencha"]
    assert status.selection is not None and status.selection.total == 5
    assert status.selection.summary_text() == (
        "1 группа и 0 отдельных товаров включены, 1 исключены: будет выгружено 2 из 5 товаров")


def test_the_status_of_a_user_with_nothing_set_up_lists_every_problem(rt, alice):
    status = sync_status(rt, alice.id)
    assert [problem["code"] for problem in status.readiness.problems] == [
        "source_connection.not_connected", "catalog.not_loaded", "products.no_store",
        "target_connection.not_connected", "target_rights.not_connected", "community.not_chosen",
        "category.not_chosen",
    ]


def test_a_community_with_goods_off_is_a_red_line_in_the_gathered_status(rt, alice, sandbox_control):
    source_id, _ = connect_both(rt, sandbox_control, alice)
    load_catalog(rt, source_id)
    save_config(rt, alice, vk_group_id=GOODS_OFF_GROUP)
    status = sync_status(rt, alice.id)
    assert [problem["code"] for problem in status.readiness.problems] == ["community.goods_off"]


def test_a_saved_community_is_not_green_once_its_connection_is_gone():
    """Issue 15.5: after disconnecting VK, «Сообщество … товары включены» stayed green."""
    from dataclasses import replace
    base = facts()
    readiness = evaluate(replace(base, target=replace(base.target, connected=False)), now=NOW)
    community = next(item for item in readiness.lines if item.check == "community")
    assert not community.ok and "нет подключения" in community.message


def test_the_missing_rights_fix_names_the_setting_the_target_provider_declares(rt):
    declared = roles(rt.providers).target_rights_setting
    assert declared == "VK_SCOPES"
    lacking = dict(target_rights={"groups": True, "market": False, "photos": True})
    named = line(evaluate(facts(**lacking, target_rights_setting=declared), now=NOW), "target_rights")
    assert "(переменная VK_SCOPES)" in named.fix
    unnamed = line(evaluate(facts(**lacking), now=NOW), "target_rights")
    assert unnamed.fix.startswith("Подключите заново с правами market, photos, groups или вставьте")
