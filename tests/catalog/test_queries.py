"""What the catalog page reads: the group tree, the table, search, filters, summary and CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from connhub.catalog import queries, refresh, service
from connhub.catalog.queries import TableFilter
from connhub.models import RefreshSource, RuleMode, RuleTarget
from connhub.ports.catalog import GroupRecord, StoreRecord
from tests.support.catalog import STORE, ScriptedSource, product

GROUPS = [
    GroupRecord("drinks", "Напитки"),
    GroupRecord("juice", "Соки", parent_id="drinks"),
    GroupRecord("apple", "Яблочные", parent_id="juice"),
    GroupRecord("clothes", "Одежда"),
    GroupRecord("jeans", "Джинсы", parent_id="clothes", attributes=[{"id": "a", "name": "Размер"}]),
]
PRODUCTS = [
    product("water", "Вода", "drinks", code="101", article="W-1", barcodes=["4600000000011"]),
    product("orange", "Сок апельсиновый", "juice", price=Decimal("99.9")),
    product("apple1", "Сок яблочный 1 л", "apple", price=Decimal("0"), allow_to_sell=False),
    product("apple2", "=HYPERLINK(\"x\")", "apple", type="JUICE_MARKED", quantity=Decimal("-1.5")),
    product("jeans-s", "Джинсы S", "jeans", attributes_choices={"a": "s"}),
    product("jeans-m", "Джинсы M", "jeans", attributes_choices={"a": "m"}),
    product("bag", "Пакет", None, type="SERVICE"),
]


@pytest.fixture
def rt(db_rt):  # noqa: ANN201 - the engine and the queries on SQLite and on PostgreSQL
    return db_rt


@pytest.fixture
def catalog(rt, connection_id, alice):
    source = ScriptedSource([StoreRecord(STORE, "Магазин у дома")], {STORE: [GROUPS]}, {STORE: [PRODUCTS]})
    refresh.request_refresh(rt.sessions, connection_id, store_id=None, source=RefreshSource.USER)
    refresh.run_pending(rt.sessions, "w", lambda _c: source)
    with rt.sessions() as session:
        snapshot = queries.current_snapshot(session, alice.id, connection_id, STORE)
    assert snapshot is not None
    return queries.load_catalog(rt.sessions, snapshot)


def rules(rt, alice):
    with rt.sessions() as session:
        return queries.rules_for(session, alice.id, STORE)


def test_the_tree_nests_groups_with_counts_including_everything_below(catalog):
    tree = [(node.id, node.depth, node.product_count, node.is_modification_group) for node in catalog.walk()]
    assert tree == [("drinks", 0, 4, False), ("juice", 1, 3, False), ("apple", 2, 2, False),
                    ("clothes", 0, 2, False), ("jeans", 1, 2, True)]


def test_a_group_shows_its_products_and_everything_below_it(catalog, rt, alice):
    evaluation = queries.evaluate(catalog, [])
    rows = queries.select_rows(catalog, evaluation, TableFilter(group_id="juice"))
    assert set(rows["id"]) == {"orange", "apple1", "apple2"}
    assert len(queries.select_rows(catalog, evaluation, TableFilter())) == 7


@pytest.mark.parametrize(("needle", "expected"), [
    ("вода", {"water"}), ("СОК", {"orange", "apple1"}), ("101", {"water"}), ("w-1", {"water"}),
    ("4600000000011", {"water"}), ("нет такого", set()),
])
def test_search_finds_by_name_code_article_or_barcode(catalog, needle, expected):
    rows = queries.select_rows(catalog, queries.evaluate(catalog, []), TableFilter(search=needle))
    assert set(rows["id"]) == expected


def test_filters_by_type_for_sale_and_in_sync(catalog, rt, alice):
    service.set_rules(rt.sessions, alice.id, STORE, RuleTarget.GROUP, [("drinks", "Напитки")], RuleMode.EXCLUDE)
    evaluation = queries.evaluate(catalog, rules(rt, alice))
    pick = lambda **kw: set(queries.select_rows(catalog, evaluation, TableFilter(**kw))["id"])  # noqa: E731
    assert pick(types=("SERVICE", "JUICE_MARKED")) == {"bag", "apple2"}
    assert pick(for_sale=False) == {"apple1"}
    assert pick(in_sync=True) == {"jeans-s", "jeans-m", "bag"}
    assert pick(in_sync=False, search="сок") == {"orange", "apple1"}
    assert queries.product_types(catalog) == ["JUICE_MARKED", "NORMAL", "SERVICE"]


def test_each_row_says_whether_it_is_in_the_sync_and_why(catalog, rt, alice):
    service.set_rules(rt.sessions, alice.id, STORE, RuleTarget.GROUP, [("juice", "Соки")], RuleMode.EXCLUDE)
    service.set_rules(rt.sessions, alice.id, STORE, RuleTarget.PRODUCT, [("apple1", "Сок")], RuleMode.INCLUDE)
    rows = queries.select_rows(catalog, queries.evaluate(catalog, rules(rt, alice)), TableFilter())
    by_id = rows.set_index("id")
    assert (by_id.loc["apple1", "in_sync"], by_id.loc["apple1", "reason"]) == (True, "Товар включён")
    assert (by_id.loc["apple2", "in_sync"], by_id.loc["apple2", "reason"]) == (False, "Группа «Соки» исключена")
    assert (by_id.loc["water", "in_sync"], by_id.loc["water", "reason"]) == (
        False, "По умолчанию (не входит ни в одно включение)")


def test_the_summary_counts_products_and_groups_in_the_sync(catalog, rt, alice):
    assert queries.summary(catalog, queries.evaluate(catalog, [])).text() == "В выгрузке: 7 из 7 товаров, 5 групп"
    service.set_rules(rt.sessions, alice.id, STORE, RuleTarget.GROUP, [("drinks", "Напитки")], RuleMode.EXCLUDE)
    summary = queries.summary(catalog, queries.evaluate(catalog, rules(rt, alice)))
    assert summary.text() == "В выгрузке: 3 из 7 товаров, 2 группы"
    assert queries.Summary(1, 21, 1).text() == "В выгрузке: 1 из 21 товара, 1 группа"
    assert queries.Summary(0, 11, 11).text() == "В выгрузке: 0 из 11 товаров, 11 групп"


def test_a_rule_changes_mode_in_place_and_can_be_removed(catalog, rt, alice, bob):
    service.set_rules(rt.sessions, alice.id, STORE, RuleTarget.GROUP, [("juice", "Соки")], RuleMode.EXCLUDE)
    service.set_rules(rt.sessions, alice.id, STORE, RuleTarget.GROUP, [("juice", "Соки")], RuleMode.INCLUDE)
    [rule] = rules(rt, alice)
    assert rule.mode == RuleMode.INCLUDE
    assert service.remove_rules(rt.sessions, bob.id, [rule.id]) == 0  # not bob's
    assert service.remove_rules(rt.sessions, alice.id, [rule.id]) == 1
    assert rules(rt, alice) == []


def test_rules_survive_a_refresh_and_a_vanished_target_is_reported(rt, connection_id, alice, catalog):
    service.set_rules(rt.sessions, alice.id, STORE, RuleTarget.PRODUCT, [("water", "Вода")], RuleMode.EXCLUDE)
    smaller = ScriptedSource([StoreRecord(STORE, "Магазин у дома")], {STORE: [GROUPS]}, {STORE: [PRODUCTS[1:]]})
    refresh.request_refresh(rt.sessions, connection_id, store_id=STORE, source=RefreshSource.USER)
    refresh.run_pending(rt.sessions, "w", lambda _c: smaller)
    with rt.sessions() as session:
        snapshot = queries.current_snapshot(session, alice.id, connection_id, STORE)
    fresh = queries.load_catalog(rt.sessions, snapshot)
    evaluation = queries.evaluate(fresh, rules(rt, alice))
    missing = evaluation.ruleset.missing(group_ids=fresh.groups, product_ids=fresh.products["id"])
    assert [(r.target_id, r.name) for r in missing] == [("water", "Вода")]


def test_another_user_sees_neither_the_stores_nor_the_snapshot(rt, connection_id, catalog, bob, alice):
    with rt.sessions() as session:
        assert queries.stores_for_user(session, bob.id, ["evotor"]) == []
        assert queries.current_snapshot(session, bob.id, connection_id, STORE) is None
        assert [s.name for s in queries.stores_for_user(session, alice.id, ["evotor"])] == ["Магазин у дома"]


def test_the_csv_is_exactly_the_table_for_excel(catalog, rt, alice):
    service.set_rules(rt.sessions, alice.id, STORE, RuleTarget.GROUP, [("apple", "Яблочные")], RuleMode.EXCLUDE)
    rows = queries.select_rows(catalog, queries.evaluate(catalog, rules(rt, alice)), TableFilter(group_id="juice"))
    name, data = queries.export_csv(rows, "Магазин у дома", date(2026, 12, 2))
    assert name == "catalog_Магазин_у_дома_2026-12-02.csv"
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert lines[0][:3] == ["Название", "Код", "Артикул"] and "В выгрузке" in lines[0]
    assert len(lines) == 1 + 3
    by_name = {line[0]: dict(zip(lines[0], line, strict=True)) for line in lines[1:]}
    assert by_name["Сок апельсиновый"]["Цена, ₽"] == "99,9"
    assert by_name["Сок апельсиновый"]["В выгрузке"] == "да"
    assert by_name["Сок яблочный 1 л"]["Цена, ₽"] == "0"
    assert by_name["Сок яблочный 1 л"]["В выгрузке"] == "нет"
    formula = by_name["'=HYPERLINK(\"x\")"]
    assert formula["Остаток"] == "-1,5"  # a negative number stays a number
    assert formula["Причина"] == "Группа «Яблочные» исключена"
    assert formula["Себестоимость, ₽"] == ""  # absent, not zero


NAMES = {"NORMAL": "Обычный товар", "SERVICE": "Услуга"}


def test_the_table_shows_no_none_or_nan_and_numbers_as_a_russian_reader_writes_them(catalog):
    """Issue 15.2–15.4: «None» in «Остаток», «Код», «Артикул», «Себестоимость»; codes in «Тип»; «701.4»."""
    rows = queries.select_rows(catalog, queries.evaluate(catalog, []), TableFilter())
    view = queries.table_view(rows, NAMES)
    assert list(view.columns) == list(queries.TABLE_COLUMNS)
    for column in view.columns:
        for value in view[column]:
            assert str(value) not in ("None", "nan", "NaN", "<NA>", "NaT"), (column, value)
    by_name = view.set_index("name")
    assert by_name.loc["Сок апельсиновый", "price"] == "99,90"
    assert by_name.loc["Сок апельсиновый", "cost_price"] == ""  # missing is empty
    assert by_name.loc["Сок апельсиновый", "code"] == "" and by_name.loc["Сок апельсиновый", "article"] == ""
    assert by_name.loc["Сок апельсиновый", "quantity"] == ""
    assert by_name.loc["=HYPERLINK(\"x\")", "quantity"] == "\u22121,5"
    assert by_name.loc["Пакет", "type"] == "Услуга" and by_name.loc["Пакет", "group_name"] == ""
    assert by_name.loc["=HYPERLINK(\"x\")", "type"] == "JUICE_MARKED"  # unknown: its code, never an error


def test_the_csv_names_product_types(catalog):
    rows = queries.select_rows(catalog, queries.evaluate(catalog, []), TableFilter())
    lines = list(csv.reader(io.StringIO(queries.csv_bytes(rows, NAMES).decode("utf-8-sig")), delimiter=";"))
    kinds = {line[0]: line[lines[0].index("Тип")] for line in lines[1:]}
    assert kinds["Пакет"] == "Услуга" and kinds["Вода"] == "Обычный товар"
    assert "None" not in "".join("".join(line) for line in lines)


def test_a_rule_toast_names_the_group_and_agrees_in_number():
    """Issue 15.4: «Группа: 1 — исключено из выгрузки» named no group."""
    assert service.rule_toast(RuleTarget.GROUP, RuleMode.EXCLUDE, ["Чай"]) == "Группа «Чай»: исключена из выгрузки"
    assert service.rule_toast(RuleTarget.PRODUCT, RuleMode.INCLUDE, ["Сенча"]) == "Товар «Сенча»: включён в выгрузку"
    assert service.rule_toast(RuleTarget.PRODUCT, RuleMode.EXCLUDE, ["a", "b"]) == "Товары: 2 исключены из выгрузки"
    assert service.rule_toast(RuleTarget.PRODUCT, RuleMode.EXCLUDE, list("abcde")) == "Товары: 5 исключено из выгрузки"
