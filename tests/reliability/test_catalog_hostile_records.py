"""Issue 15, defect 6 and the group-cycle risk of 9: one bad record never stops a refresh.

The real `checker.py --catalog-once` refreshes an Evotor account whose catalog holds records a
database cannot take as they came, on SQLite and on PostgreSQL. The rest of the catalog is
stored; what had to go is left out and named on the job; what could be cleaned is cleaned.
"""

from __future__ import annotations

from sqlalchemy import select

from connhub.catalog import queries
from connhub.catalog.rules import Rule
from connhub.models import CatalogProduct, CatalogSnapshot, Connection, RefreshState, RuleMode, RuleTarget
from tests.reliability.hostile_catalog import STORE, job, product, queue_refresh, serve_catalog
from tests.support.checker import run_checker, seed

LONG = "x" * 65


def refresh(rt, connection_id: int):
    job_id = queue_refresh(rt, connection_id)
    run = run_checker(rt, "--catalog-once", timeout=120)
    assert run.returncode == 0, run.log
    return job(rt, job_id)


def stored(rt, connection_id: int) -> dict[str, CatalogProduct]:
    with rt.sessions() as session:
        snapshot = session.scalars(select(CatalogSnapshot.id).where(
            CatalogSnapshot.connection_id == connection_id, CatalogSnapshot.state == "current")).one()
        rows = session.scalars(select(CatalogProduct).where(CatalogProduct.snapshot_id == snapshot)).all()
        session.expunge_all()
        return {row.id: row for row in rows}


def test_unstorable_records_are_left_out_and_named_and_the_rest_is_stored(hostile, hostile_rt):
    shop = seed(hostile_rt, "shop", "evotor")
    serve_catalog(hostile, products=[
        product("ok-1"),
        product("huge-price", name="Чай за миллиарды", price="1e16"),
        product("huge-quantity", quantity=1e19),
        product(LONG, name="Длинный id"),
        product("long-ref", name="Чужая группа", parent_id=LONG),
        product("nul-name", name="Чай\x00 зелёный", code="A\x001", description="о\x00 чае",
                barcodes=["46\x0001"], attributes_choices={"Цвет\x00": "Бел\x00ый"}),
        product("long-measure", measure_name="м" * 65, article_number="а" * 65, type="T" * 65, tax="N" * 65),
        product("surrogate", name="Чай \ud800 чёрный"),
    ])

    done = refresh(hostile_rt, shop)

    # Before the fix the whole refresh failed (BIGINT overflow; on PostgreSQL also the NUL and
    # the 65-character measure) and the catalog kept its stale copy, or none at all.
    assert done.state == RefreshState.SUCCEEDED, done.error
    rows = stored(hostile_rt, shop)
    assert set(rows) == {"ok-1", "nul-name", "long-measure", "surrogate"}
    assert rows["nul-name"].name == "Чай зелёный"
    assert rows["nul-name"].code == "A1" and rows["nul-name"].description == "о чае"
    assert rows["nul-name"].barcodes == ["4601"] and rows["nul-name"].attributes_choices == {"Цвет": "Белый"}
    assert rows["long-measure"].measure == "м" * 64 and rows["long-measure"].article == "а" * 64
    assert rows["long-measure"].type == "T" * 64 and rows["long-measure"].tax == "N" * 64
    assert rows["surrogate"].name == "Чай  чёрный"
    assert done.items_skipped == 4
    problems = "\n".join(done.problems or [])
    assert "товар «Чай за миллиарды» (huge-price): цена 1e16 вне допустимого диапазона" in problems
    assert "(huge-quantity): остаток" in problems
    assert "товар «Длинный id»" in problems and "идентификатор длиннее 64 символов" in problems
    assert "товар «Чужая группа» (long-ref): ссылка на группу" in problems


def test_a_group_that_is_its_own_parent_or_in_a_parent_cycle_stays_in_the_tree(hostile, hostile_rt):
    shop = seed(hostile_rt, "shop", "evotor")
    serve_catalog(hostile, groups=[
        {"id": "g-self", "name": "Чай", "parent_id": "g-self"},
        {"id": "g-under", "name": "Зелёный", "parent_id": "g-self"},
        {"id": "g-a", "name": "Кофе", "parent_id": "g-b"},
        {"id": "g-b", "name": "Зерно", "parent_id": "g-a"},
        {"id": "g-root", "name": "Посуда"},
    ], products=[product("p-1", parent_id="g-under"), product("p-2", parent_id="g-b"),
                 product("p-3", parent_id="g-self"), product("p-4", parent_id="g-root")])

    done = refresh(hostile_rt, shop)

    assert done.state == RefreshState.SUCCEEDED, done.error
    with hostile_rt.sessions() as session:
        user_id = session.get(Connection, shop).user_id  # type: ignore[union-attr]
        snapshot = queries.current_snapshot(session, user_id, shop, STORE)
    assert snapshot is not None
    catalog = queries.load_catalog(hostile_rt.sessions, snapshot)
    tree = {node.id: node for node in catalog.walk()}
    # Before the fix «Чай», «Зелёный», «Кофе» and «Зерно» were in no tree and the summary said «1 группа».
    assert set(tree) == {"g-self", "g-under", "g-a", "g-b", "g-root"}
    assert tree["g-self"].parent_id is None and tree["g-self"].product_count == 2
    assert tree["g-a"].parent_id is None and tree["g-b"].parent_id == "g-a"  # one cut breaks the cycle
    assert queries.summary(catalog, queries.evaluate(catalog, [])).text() == "В выгрузке: 4 из 4 товаров, 5 групп"
    # A rule on the lifted group covers what is under it: «Зелёный» goes with «Чай».
    excluded = queries.evaluate(catalog, [Rule(RuleTarget.GROUP, "g-self", RuleMode.EXCLUDE, "Чай")])
    assert queries.summary(catalog, excluded).text() == "В выгрузке: 2 из 4 товаров, 3 группы"
    problems = "\n".join(done.problems or [])
    assert "Группа «Чай» (g-self)" in problems and "Группа «Кофе» (g-a)" in problems
    assert done.items_skipped == 0  # moved, not left out
