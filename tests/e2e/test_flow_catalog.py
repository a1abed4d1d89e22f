"""«Каталог» in headless Chromium against the real processes: refresh, rules, the row's reason, CSV.

The local operator's Evotor connection is made with the account's app token (the route the
dashboard scenario covers through the UI); everything after that is the browser: «Обновить
каталог» is run by the real checker, the group is excluded from the tree, one of its products is
included from the table, and the downloaded CSV carries each row's decision and reason.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from connhub import connections, oauth
from connhub.catalog import queries, service
from connhub.db import execute_write
from connhub.providers.evotor.sandbox import EVOTOR_ACCOUNTS
from connhub.runtime import Runtime, load_settings
from connhub.users import LOCAL_SUBJECT, ensure_user

from .helpers import Stack, Steps

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings(
        "ignore:Session-scoped fixtures defined as instance methods:pytest.PytestRemovedIn10Warning"),
]

ACCOUNT = next(iter(EVOTOR_ACCOUNTS))
STORE = EVOTOR_ACCOUNTS[ACCOUNT][0]["id"]
UI = 20_000
REFRESH = 90_000  # the checker looks for requests every 2 s; the load itself takes a few seconds
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'


def settled(page: Page, timeout: int = UI) -> None:
    expect(page.locator(IDLE)).to_be_attached(timeout=timeout)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def widget(page: Page, key: str, role: str = "button"):  # noqa: ANN201 - a Playwright locator
    return page.locator(f".st-key-{key} {role}")


def summary(page: Page):  # noqa: ANN201
    return page.get_by_text(re.compile(r"^В выгрузке: \d+ из \d+ товар"))


def read_csv(page: Page) -> tuple[str, bytes, list[dict[str, str]]]:
    with page.expect_download(timeout=UI) as download_info:
        widget(page, "catalog-csv").click()
    download = download_info.value
    data = download.path().read_bytes()
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    return download.suggested_filename, data, rows


@pytest.fixture
def operator_evotor(stack: Stack) -> Iterator[tuple[Runtime, int, int]]:
    """The local operator with an Evotor connection (made here unless one exists), removed afterwards."""
    rt = Runtime.from_settings(load_settings(_env_file=None, **stack.env))
    with rt.sessions() as session:
        user = ensure_user(session, subject=LOCAL_SUBJECT, email="", name="Локальный оператор")
    with rt.sessions() as session:
        existing = connections.get_for_user(session, user.id, "evotor")
    created = existing is None
    if existing is None:
        token = stack.control.cloud_token(ACCOUNT, provider="evotor")["token"]
        result = oauth.connect_with_token(rt, user_id=user.id, provider="evotor", raw_token=token)
        assert result.ok and result.connection_id is not None, result.message
        connection_id = result.connection_id
    else:
        connection_id = existing.id
    try:
        yield rt, user.id, connection_id
    finally:
        with rt.sessions() as session:
            rules = queries.rules_for(session, user.id, STORE)
        service.remove_rules(rt.sessions, user.id, [rule.id for rule in rules if rule.id is not None])
        if created:
            execute_write(rt.sessions, lambda session: connections.delete_for_user(session, user.id, connection_id))
        rt.close()


def test_catalog_walk_refresh_rules_reason_and_csv(stack: Stack, page: Page, operator_evotor) -> None:
    rt, user_id, connection_id = operator_evotor
    steps = Steps(page, outdir=stack.artifacts / "catalog", procs=stack.procs)

    with steps("c01 refresh the catalog"):
        page.goto(stack.app_url)  # the router first: st.navigation decides what /catalog is
        settled(page)
        page.goto(f"{stack.app_url}/catalog")
        settled(page)
        expect(page.get_by_role("heading", name="Каталог")).to_be_visible(timeout=UI)
        refresh = widget(page, "catalog-refresh")
        expect(refresh).to_be_visible(timeout=UI)
        if refresh.is_enabled():  # the checker may already be loading it on its own schedule
            refresh.click()
        expect(summary(page)).to_have_text(re.compile(r"^В выгрузке: 5000 из 5000 товаров, \d+ групп"),
                                           timeout=REFRESH)
        # No refresh left queued or running (the schedule's and ours may both have run): the page is still.
        expect(widget(page, "catalog-refresh")).to_be_enabled(timeout=REFRESH)
        expect(page.get_by_text(re.compile(r"^Обновлён \d\d\.\d\d\.\d{4}"))).to_be_visible(timeout=UI)

    with rt.sessions() as session:
        snapshot = queries.current_snapshot(session, user_id, connection_id, STORE)
    assert snapshot is not None
    catalog = queries.load_catalog(rt.sessions, snapshot)
    tea = next(node for node in catalog.walk() if node.name == "Чай")
    inside = catalog.products[catalog.products["group_id"].isin(catalog.below(tea.id))]
    names = inside["name"].value_counts()
    chosen = str(inside[inside["name"].map(names) == 1].iloc[0]["name"])  # a name only one product has

    with steps("c02 exclude the group «Чай» from the tree"):
        group = widget(page, "catalog-group-0", "[role=combobox]")
        group.click()
        group.fill("Чай ·")
        page.get_by_role("option", name=re.compile(r"^Чай · \d+$")).click()
        expect(page.get_by_text(f"Показано товаров: {tea.product_count}", exact=True)).to_be_visible(timeout=UI)
        settled(page)
        widget(page, "tree-exclude").click()
        settled(page)
        expect(summary(page)).to_have_text(re.compile(rf"^В выгрузке: {5000 - tea.product_count} из 5000"),
                                           timeout=UI)
        expect(page.get_by_text("Группа «Чай» и всё, что в ней, — группа «Чай» исключена")).to_be_visible()

    with steps("c03 include one product of it from the table"):
        widget(page, "catalog-search", "input").fill(chosen)
        widget(page, "catalog-search", "input").press("Enter")
        settled(page)
        expect(page.get_by_text("Показано товаров: 1")).to_be_visible(timeout=UI)
        table = page.get_by_test_id("stDataFrame").last
        box = table.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the selection box of the first row
        expect(page.get_by_text("Показано товаров: 1, выбрано: 1")).to_be_visible(timeout=UI)
        widget(page, "rows-include").click()
        settled(page)
        # Any include makes the rules a whitelist: now only that product is in the sync.
        expect(summary(page)).to_have_text(re.compile(r"^В выгрузке: 1 из 5000 товаров, \d+ групп"), timeout=UI)
        expect(page.get_by_text(re.compile(r"^Есть правила «Включить»"))).to_be_visible()

    with steps("c04 the row says it is in the sync because of its own rule (CSV of the table)"):
        name, data, rows = read_csv(page)
        assert re.fullmatch(r"catalog_Чайная_\d{4}-\d\d-\d\d\.csv", name), name
        assert data.startswith(b"\xef\xbb\xbf") and b";" in data.splitlines()[0]
        assert [(row["Название"], row["В выгрузке"], row["Причина"]) for row in rows] == [
            (chosen, "да", "Товар включён")]

    with steps("c05 the whole group's CSV: the rest excluded by the group rule"):
        widget(page, "catalog-search", "input").fill("")
        widget(page, "catalog-search", "input").press("Enter")
        expect(page.get_by_text(f"Показано товаров: {tea.product_count}", exact=True)).to_be_visible(timeout=UI)
        settled(page)
        _name, _data, rows = read_csv(page)
        assert len(rows) == tea.product_count
        reasons = {(row["В выгрузке"], row["Причина"]) for row in rows if row["Название"] != chosen}
        assert reasons == {("нет", "Группа «Чай» исключена")}
        assert all(re.fullmatch(r"-?\d+(,\d+)?", row["Цена, ₽"]) for row in rows)  # decimal comma
        rules_text = page.get_by_text(re.compile(r"^Правила выгрузки \(2\)"))
        expect(rules_text).to_be_visible()
