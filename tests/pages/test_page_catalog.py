"""«Каталог»: its states, the refresh request and progress, rules from the tree and the table."""

from __future__ import annotations

import re

from sqlalchemy import select

from connhub.catalog import queries, refresh, service
from connhub.catalog.worker import open_source
from connhub.models import CatalogRefreshJob, RefreshSource, RefreshState, RuleMode, RuleTarget, Status
from connhub.providers.evotor.sandbox import EVOTOR_ACCOUNTS
from connhub.providers.evotor.sandbox.catalog_http import configure as configure_catalog
from tests.pages.helpers import badges, page_links, page_text, titles
from tests.support.connect import add_connection, connect

CATALOG = "pages/catalog.py"
ACCOUNT = next(iter(EVOTOR_ACCOUNTS))
BIG_STORE = EVOTOR_ACCOUNTS[ACCOUNT][0]["id"]


def run_refreshes(rt) -> list[refresh.JobView]:
    return refresh.run_pending(rt.sessions, "test", lambda cid: open_source(rt, cid), wait=lambda _s: None)


def loaded_catalog(rt, user):
    connection_id = connect(rt, user, "evotor", account=ACCOUNT)
    refresh.request_refresh(rt.sessions, connection_id, store_id=None, source=RefreshSource.SCHEDULE)
    [job] = run_refreshes(rt)
    assert job.state == RefreshState.SUCCEEDED, job.error
    with rt.sessions() as session:
        snapshot = queries.current_snapshot(session, user.id, connection_id, BIG_STORE)
    return connection_id, queries.load_catalog(rt.sessions, snapshot)


def rules_of(rt, user) -> list:
    with rt.sessions() as session:  # closed: an open session would hold PostgreSQL's locks past the test
        return queries.rules_for(session, user.id, BIG_STORE)


def summary(at) -> str:
    return next(text.strip("*") for text in page_text(at).splitlines() if text.startswith("**В выгрузке:"))


def table(at):
    return at.dataframe[-1].value


def test_without_a_connection_the_page_says_what_to_connect_and_links_there(open_app, alice):
    at = open_app(alice, page=CATALOG)
    assert not at.exception
    assert titles(at) == ["Каталог"]
    assert "Каталог появится, когда вы подключите Эвотор" in page_text(at)
    assert "Добавить подключение" in page_links(at)


def test_a_rejected_connection_says_to_reconnect_and_links_to_it(open_app, app_rt, alice, sandbox_control):
    add_connection(app_rt, sandbox_control, alice, "evotor", status=Status.RECONNECT)
    with app_rt.sessions() as session:
        from connhub.models import Connection
        row = session.scalars(select(Connection)).one()
        row.status_reason = "Эвотор отклонил токен — подключите заново"
        session.commit()
    at = open_app(alice, page=CATALOG)
    assert not at.exception
    assert "Эвотор отклонил токен — подключите заново" in page_text(at)
    assert "Открыть Эвотор" in page_links(at)


def test_refresh_is_requested_from_the_page_and_its_progress_shown(open_app, app_rt, alice):
    connect(app_rt, alice, "evotor", account=ACCOUNT)
    at = open_app(alice, page=CATALOG)
    assert "Каталог ещё не загружен" in page_text(at)
    at.button(key="catalog-refresh").click().run()
    assert not at.exception
    with app_rt.sessions() as session:
        job = session.scalars(select(CatalogRefreshJob)).one()
    assert (job.source, job.state, job.store_id, job.requested_by_user_id) == ("user", "queued", None, alice.id)
    assert "Обновление ждёт своей очереди" in page_text(at)
    assert at.button(key="catalog-refresh").disabled
    [done] = run_refreshes(app_rt)
    at.run()
    assert done.state == RefreshState.SUCCEEDED
    assert at.selectbox(key="catalog-store").value.name == "Чайная"
    assert summary(at) == "В выгрузке: 5000 из 5000 товаров, 17 групп"
    assert re.search(r"Обновлён \d\d\.\d\d\.\d{4} \d\d:\d\d по запросу: Alice, все магазины — "
                     r"прочитано товаров и групп: 5\xa0074 за ", page_text(at))


def test_a_missing_right_is_named_on_the_page(open_app, app_rt, alice, sandbox_control):
    loaded_catalog(app_rt, alice)
    configure_catalog(sandbox_control, forbid=["product-groups"])
    refresh.request_refresh(app_rt.sessions, 1, store_id=BIG_STORE, source=RefreshSource.USER, user_id=alice.id)
    run_refreshes(app_rt)
    at = open_app(alice, page=CATALOG)
    assert not at.exception
    assert "product-group:read" in page_text(at)
    assert summary(at).startswith("В выгрузке: 5000 из 5000")  # the previous catalog stays


def test_excluding_a_group_from_the_tree_updates_the_summary_and_the_reasons(open_app, app_rt, alice):
    _, catalog = loaded_catalog(app_rt, alice)
    tea = next(node for node in catalog.walk() if node.name == "Чай")
    at = open_app(alice, page=CATALOG)
    at.selectbox(key="catalog-group-0").set_value(tea.id).run()
    assert len(table(at)) == tea.product_count
    at.button(key="tree-exclude").click().run()
    assert not at.exception
    assert summary(at).startswith(f"В выгрузке: {5000 - tea.product_count} из 5000")
    rows = table(at)
    assert set(rows["reason"]) == {"Группа «Чай» исключена"} and not rows["in_sync"].any()
    assert "**Исключить** · группа «Чай»" in page_text(at)


def test_search_narrows_the_table_by_name_code_article_or_barcode(open_app, app_rt, alice):
    _, catalog = loaded_catalog(app_rt, alice)
    at = open_app(alice, page=CATALOG)
    at.text_input(key="catalog-search").input("=акция").run()
    rows = table(at)
    assert list(rows["name"]) == ["=Акция: 1+1"]
    at.text_input(key="catalog-search").input("футболка").run()
    assert len(table(at)) == 6


def test_a_rule_whose_target_left_the_catalog_is_marked_and_can_be_removed(open_app, app_rt, alice):
    loaded_catalog(app_rt, alice)
    service.set_rules(app_rt.sessions, alice.id, BIG_STORE, RuleTarget.PRODUCT, [("gone-id", "Снятый товар")],
                      RuleMode.EXCLUDE)
    at = open_app(alice, page=CATALOG)
    assert ("orange", "нет в каталоге") in badges(at)
    assert "**Исключить** · товар «Снятый товар»" in page_text(at)
    [rule] = rules_of(app_rt, alice)
    at.button(key=f"rule-remove-{rule.id}").click().run()
    assert not at.exception
    assert rules_of(app_rt, alice) == []
    assert "Правила выгрузки (0)" in [e.label for e in at.expander]


def test_another_users_catalog_is_not_shown(open_app, app_rt, alice, bob):
    loaded_catalog(app_rt, alice)
    at = open_app(bob, page=CATALOG)
    assert "Каталог появится, когда вы подключите Эвотор" in page_text(at)
