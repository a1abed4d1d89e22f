"""Issue 15, defect 3: a catalog that pages forever never holds a refresh forever.

The real `checker.py --catalog-once` refreshes one Evotor account against the hostile server, on
SQLite and on PostgreSQL. Each refresh ends at a bound, says which one stopped it, records the
requests it made, and leaves the last good copy of the catalog in place.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from sqlalchemy import select

from connhub.models import CatalogProduct, CatalogSnapshot, RefreshState
from tests.reliability.hostile import json_bytes
from tests.reliability.hostile_catalog import (
    JSON,
    PRODUCTS,
    STORES,
    endless_pages,
    job,
    page,
    product,
    queue_refresh,
    serve_catalog,
    thousand_products,
)
from tests.support.checker import run_checker, seed, start_checker

# Before the fix these refreshes never ended; the probe gives up here instead of hanging pytest.
PROBE_TIMEOUT = 120


def current_ids(rt, connection_id: int) -> set[str]:
    with rt.sessions() as session:
        snapshot = session.scalars(select(CatalogSnapshot.id).where(
            CatalogSnapshot.connection_id == connection_id, CatalogSnapshot.state == "current")).one()
        return set(session.scalars(select(CatalogProduct.id).where(CatalogProduct.snapshot_id == snapshot)))


def refresh_once(rt, connection_id: int, **env: str):
    job_id = queue_refresh(rt, connection_id)
    try:
        run = run_checker(rt, "--catalog-once", timeout=PROBE_TIMEOUT, **env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the refresh did not end within {PROBE_TIMEOUT} s")
    assert run.returncode == 0, run.log
    return job(rt, job_id), run


@pytest.fixture
def shop(hostile, hostile_rt) -> int:
    """An Evotor connection whose catalog was refreshed once, well: two products in the copy."""
    connection_id = seed(hostile_rt, "shop", "evotor")
    serve_catalog(hostile, products=[product("good-1"), product("good-2")])
    first, _ = refresh_once(hostile_rt, connection_id)
    assert first.state == RefreshState.SUCCEEDED, first.error
    return connection_id


@pytest.mark.parametrize("path", [STORES, PRODUCTS])
def test_a_series_that_repeats_its_cursor_forever_fails_saying_so_and_keeps_the_copy(hostile, hostile_rt, shop, path):
    items = [{"id": "s-1", "name": "Чайная"}] if path == STORES else [product("loop")]
    hostile.answer("GET", path, json_body=page(items, "the-same-cursor"))

    done, _ = refresh_once(hostile_rt, shop)

    assert done.state == RefreshState.FAILED
    assert "одну и ту же страницу" in done.error, done.error
    assert done.error_code == "cursor_loop"
    # Before the fix the store list looped inside one request (1,340 a minute, 0 recorded).
    assert 2 <= done.requests <= 5, done.requests
    assert len(hostile.requests_to(path)) <= 1 + done.requests
    assert current_ids(hostile_rt, shop) == {"good-1", "good-2"}  # the last good copy stays


def test_endless_new_cursors_stop_at_the_page_bound(hostile, hostile_rt, shop):
    hostile.answer("GET", PRODUCTS, headers=JSON, body=endless_pages(lambda n: [product(f"p{n}")]))

    done, _ = refresh_once(hostile_rt, shop, EVOTOR_CATALOG_MAX_PAGES="30")

    assert done.state == RefreshState.FAILED
    assert done.error_code == "too_many_pages"
    assert "больше 30 страниц" in done.error, done.error
    assert done.pages_read == 30
    assert len(hostile.requests_to(PRODUCTS)) <= 30 + 1  # +1: the first refresh
    assert current_ids(hostile_rt, shop) == {"good-1", "good-2"}


def test_endless_full_pages_stop_at_the_row_bound_with_memory_to_spare(hostile, hostile_rt, shop):
    hostile.answer("GET", PRODUCTS, headers=JSON, body=endless_pages(thousand_products))

    done, run = refresh_once(hostile_rt, shop, EVOTOR_CATALOG_MAX_ITEMS="5000")

    assert done.state == RefreshState.FAILED
    assert done.error_code == "too_many_items"
    assert "больше 5000 товаров" in done.error, done.error
    assert done.items_read <= 6000
    assert current_ids(hostile_rt, shop) == {"good-1", "good-2"}
    # Before the fix: 2.67 GB and growing. After: about 100 MB. Bound generous.
    assert run.peak_rss_mb < 400, run.peak_rss_mb


def test_slow_endless_pages_stop_at_the_time_bound(hostile, hostile_rt, shop):
    hostile.answer("GET", PRODUCTS, headers=JSON, delay=0.5, body=endless_pages(lambda n: [product(f"p{n}")]))

    done, _ = refresh_once(hostile_rt, shop, EVOTOR_CATALOG_MAX_SECONDS="3")

    assert done.state == RefreshState.FAILED
    assert done.error_code == "too_slow"
    assert "дольше 3 с" in done.error, done.error
    assert current_ids(hostile_rt, shop) == {"good-1", "good-2"}


def test_a_rate_limit_forever_stops_at_the_request_bound(hostile, hostile_rt, shop):
    hostile.answer("GET", PRODUCTS, status=429, headers={**JSON, "X-RateLimit-Reset": "0"},
                   body=json_bytes({"error": "slow down"}))

    done, _ = refresh_once(hostile_rt, shop, EVOTOR_CATALOG_MAX_REQUESTS="12")

    assert done.state == RefreshState.FAILED
    assert done.error_code == "too_many_requests"
    assert "больше 12 запросов" in done.error, done.error
    assert done.requests == 12
    assert current_ids(hostile_rt, shop) == {"good-1", "good-2"}


def wait_until(check, *, timeout: float = 60):  # noqa: ANN001, ANN201 - polls a database row
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s")


def test_a_long_store_list_records_its_requests_and_renews_the_lease_as_it_goes(hostile, hostile_rt):
    shop = seed(hostile_rt, "shop", "evotor")
    hostile.answer("GET", STORES, headers=JSON, delay=0.2,
                   body=endless_pages(lambda n: [{"id": f"s-{n}", "name": "Чайная"}]))
    job_id = queue_refresh(hostile_rt, shop)
    process = start_checker(hostile_rt, "--catalog-once")
    try:
        first = wait_until(lambda: (row := job(hostile_rt, job_id)).requests >= 1 and row)
        later = wait_until(lambda: (row := job(hostile_rt, job_id)).requests >= first.requests + 3 and row)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    finally:
        process.kill()
    # Before the fix the store list was paged inside one request: 0 requests recorded, lease as claimed.
    assert later.state == RefreshState.RUNNING and later.lease_expires_at > first.lease_expires_at
    done = job(hostile_rt, job_id)
    assert done.state == RefreshState.FAILED and done.error_code == "stopped"
    assert done.requests >= later.requests
