"""The whole refresh against the sandbox's Evotor over HTTP: paging, controls, 403 and 429."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
import requests
from sqlalchemy import select

from connhub.catalog import queries, refresh
from connhub.catalog.worker import CatalogWorker, open_source
from connhub.models import CatalogRefreshJob, RefreshSource, RefreshState
from connhub.providers.evotor.sandbox import EVOTOR_ACCOUNTS
from connhub.providers.evotor.sandbox.catalog_http import configure as configure_catalog
from connhub.providers.evotor.sandbox.constants import SEED_TIME
from tests.support.checker import run_checker
from tests.support.connect import connect

ACCOUNT = next(iter(EVOTOR_ACCOUNTS))
BIG_STORE = EVOTOR_ACCOUNTS[ACCOUNT][0]["id"]
SMALL_STORE = EVOTOR_ACCOUNTS[ACCOUNT][1]["id"]


@pytest.fixture
def evotor(rt, alice) -> int:
    return connect(rt, alice, "evotor", account=ACCOUNT)


def refresh_now(rt, connection_id, store_id=None, alice=None):
    refresh.request_refresh(rt.sessions, connection_id, store_id=store_id, source=RefreshSource.USER)
    [job] = refresh.run_pending(rt.sessions, "test", lambda cid: open_source(rt, cid), wait=lambda _s: None)
    return job


def loaded(rt, user, connection_id, store_id=BIG_STORE):
    with rt.sessions() as session:
        snapshot = queries.current_snapshot(session, user.id, connection_id, store_id)
    return queries.load_catalog(rt.sessions, snapshot)


def api(sandbox, path, token, **params):
    return requests.get(f"{sandbox.base_url}/evotor/api{path}", params=params, timeout=5,
                        headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.evotor.v2+json"})


def test_a_5000_product_store_loads_in_seven_requests(rt, alice, evotor, sandbox_control):
    before = sandbox_control.stats()["requests"]["evotor-api"]
    job = refresh_now(rt, evotor, BIG_STORE)
    assert job.state == RefreshState.SUCCEEDED, job.error
    assert sandbox_control.stats()["requests"]["evotor-api"] - before == 7  # stores, groups, 5 product pages
    assert (job.requests, job.pages_read) == (7, 6)
    catalog = loaded(rt, alice, evotor)
    assert len(catalog.products) == 5000
    tree = {node.name: node for node in catalog.walk()}
    assert tree["Индийский чай"].depth == 2 and tree["Футболки с логотипом"].is_modification_group
    assert tree["Футболки с логотипом"].product_count == 6
    frame = catalog.products
    assert frame["price_k"].eq(0).any() and frame["quantity_k"].lt(0).any()
    assert frame["quantity_k"].mod(1000).ne(0).any()  # fractional quantities
    assert frame["cost_k"].isna().any() and frame["code"].isna().any()
    assert frame["name"].str.len().max() == 128
    assert {"SHOES_MARKED", "SERVICE"} <= set(frame["type"].dropna())


def test_the_sandbox_pages_with_opaque_cursors_and_refuses_an_unknown_one(sandbox, sandbox_control):
    token = sandbox_control.cloud_token(ACCOUNT)["token"]
    first = api(sandbox, f"/stores/{BIG_STORE}/products", token).json()
    assert len(first["items"]) == 1000 and "offset" not in first["paging"]["next_cursor"]
    second = api(sandbox, f"/stores/{BIG_STORE}/products", token, cursor=first["paging"]["next_cursor"]).json()
    assert {i["id"] for i in first["items"]}.isdisjoint(i["id"] for i in second["items"])
    unknown = api(sandbox, f"/stores/{BIG_STORE}/products", token, cursor="never-issued")
    assert unknown.status_code == 400 and unknown.json()["code"] == "validation_failed"
    short = api(sandbox, f"/stores/{SMALL_STORE}/products", token, limit=1000).json()
    assert short["paging"] == {} and short["items"] and all(item.get("parent_id") != "" for item in short["items"])
    assert all(value is not None for item in first["items"] for value in item.values())  # absent, never null


def test_since_applies_to_the_first_request_of_a_series(sandbox, sandbox_control):
    token = sandbox_control.cloud_token(ACCOUNT)["token"]
    configure_catalog(sandbox_control, upsert=[{"id": "fresh-1", "name": "Новинка"}, {"id": "fresh-2", "name": "Ещё"}])
    since = str(int((SEED_TIME + timedelta(days=1)).timestamp() * 1000))
    first = api(sandbox, f"/stores/{BIG_STORE}/products", token, since=since, limit=1).json()
    second = api(sandbox, f"/stores/{BIG_STORE}/products", token, cursor=first["paging"]["next_cursor"]).json()
    assert [item["id"] for item in first["items"] + second["items"]] == ["fresh-1", "fresh-2"]
    assert second["paging"] == {}


def test_a_product_deleted_at_the_provider_disappears_and_a_changed_one_changes(rt, alice, evotor, sandbox_control):
    refresh_now(rt, evotor, SMALL_STORE)
    ids = configure_catalog(sandbox_control, store_id=SMALL_STORE, list_ids=True)["ids"]
    configure_catalog(sandbox_control, store_id=SMALL_STORE, delete=[ids[0]],
                                   upsert=[{"id": ids[1], "price": 12.5, "cost_price": None}])
    refresh_now(rt, evotor, SMALL_STORE)
    frame = loaded(rt, alice, evotor, SMALL_STORE).products.set_index("id")
    assert ids[0] not in frame.index
    assert frame.loc[ids[1], "price_k"] == 12500
    assert frame.loc[ids[1], "cost_k"] is pd.NA


def test_a_missing_right_fails_the_refresh_naming_it_and_keeps_the_catalog(rt, alice, evotor, sandbox_control):
    refresh_now(rt, evotor, SMALL_STORE)
    configure_catalog(sandbox_control, forbid=["products"])
    job = refresh_now(rt, evotor, SMALL_STORE)
    assert job.state == RefreshState.FAILED and job.error_code == "http_403"
    assert "product:read" in job.error
    assert len(loaded(rt, alice, evotor, SMALL_STORE).products) == 40


def test_a_429_is_waited_out_for_x_ratelimit_reset(rt, evotor, sandbox_control):
    configure_catalog(sandbox_control, rate_limit=2, reset_seconds=3)
    waits: list[float] = []
    refresh.request_refresh(rt.sessions, evotor, store_id=SMALL_STORE, source=RefreshSource.USER)
    [job] = refresh.run_pending(rt.sessions, "t", lambda cid: open_source(rt, cid), wait=waits.append)
    assert job.state == RefreshState.SUCCEEDED and waits == [3, 3]


def test_without_the_stock_right_quantity_is_absent_not_zero(rt, alice, evotor, sandbox_control):
    configure_catalog(sandbox_control, quantity_right=False)
    refresh_now(rt, evotor, SMALL_STORE)
    assert loaded(rt, alice, evotor, SMALL_STORE).products["quantity_k"].isna().all()


def test_the_checker_worker_runs_scheduled_refreshes_of_every_store(rt, alice, evotor):
    import threading

    worker = CatalogWorker(rt, "checker-test", threading.Event())
    done = worker.run_once()
    assert [job.state for job in done] == [RefreshState.SUCCEEDED]
    with rt.sessions() as session:
        job = session.scalars(select(CatalogRefreshJob)).one()
        assert job.source == RefreshSource.SCHEDULE
        stores = queries.stores_for_user(session, alice.id, ["evotor"])
    assert [s.store_id for s in stores] == [BIG_STORE, SMALL_STORE]
    assert worker.run_once() == []  # not due again within the interval


def test_checker_catalog_once_runs_due_refreshes_as_its_own_process(rt, alice, evotor):
    done = run_checker(rt, "--catalog-once")
    assert done.returncode == 0, done.stderr
    assert "catalog refresh job 1 of connection" in done.stderr and "succeeded" in done.stderr
    assert len(loaded(rt, alice, evotor).products) == 5000
    again = run_checker(rt, "--catalog-once")
    assert again.returncode == 0 and "catalog refresh job 2" not in again.stderr  # not due within the hour


def test_checker_once_runs_each_worker_the_catalog_included(rt, evotor):
    done = run_checker(rt, "--once")  # health, catalog, sync: each once (issue 16, item 5)
    assert done.returncode == 0, done.stderr
    with rt.sessions() as session:
        job = session.scalars(select(CatalogRefreshJob)).one()
        assert job.state == RefreshState.SUCCEEDED
