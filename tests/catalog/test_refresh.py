"""Refreshing the local copy: paging, atomic swaps, failures, rate limits, one job at a time."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from connhub.catalog import refresh
from connhub.models import (
    CatalogProduct,
    CatalogRefreshJob,
    CatalogSnapshot,
    RefreshSource,
    RefreshState,
    Status,
    utcnow,
)
from connhub.ports.catalog import GroupRecord, Page, StoreRecord
from tests.support.catalog import STORE, ScriptedSource, forbidden, product, rate_limited

OTHER = "20190101-AAAA-4047-807D-E82C50000001"


@pytest.fixture
def rt(db_rt):  # noqa: ANN201 - the engine and the queries on SQLite and on PostgreSQL
    return db_rt


def source_with(products_pages, **kwargs) -> ScriptedSource:
    return ScriptedSource(
        stores_list=[StoreRecord(STORE, "Магазин у дома", "Москва"), StoreRecord(OTHER, "Склад")],
        groups={STORE: [[GroupRecord("g1", "Напитки")]]},
        products={STORE: products_pages}, **kwargs)


def run(rt, connection_id, source, *, store_id=None, waits=None):
    refresh.request_refresh(rt.sessions, connection_id, store_id=store_id, source=RefreshSource.USER)
    done = refresh.run_pending(rt.sessions, "test-worker", lambda _cid: source,
                               wait=(waits.append if waits is not None else lambda _s: None))
    assert len(done) == 1
    return done[0]


def current_products(rt, connection_id, store_id=STORE) -> dict[str, CatalogProduct]:
    with rt.sessions() as session:
        snapshot = session.scalars(select(CatalogSnapshot).where(
            CatalogSnapshot.connection_id == connection_id, CatalogSnapshot.store_id == store_id,
            CatalogSnapshot.state == "current")).one()
        return {p.id: p for p in session.scalars(select(CatalogProduct).where(
            CatalogProduct.snapshot_id == snapshot.id))}


def test_every_page_is_read_until_the_cursor_ends_even_after_a_short_page(rt, connection_id):
    pages = [[product(f"a{i}") for i in range(3)], [product("b0")], [product(f"c{i}") for i in range(3)]]
    source = source_with(pages)
    job = run(rt, connection_id, source, store_id=STORE)
    assert job.state == RefreshState.SUCCEEDED
    assert set(current_products(rt, connection_id)) == {"a0", "a1", "a2", "b0", "c0", "c1", "c2"}
    assert source.calls == ["stores", f"groups/{STORE}:None", f"products/{STORE}:None",
                            f"products/{STORE}:c1", f"products/{STORE}:c2"]
    assert (job.requests, job.pages_read, job.items_read) == (5, 4, 8)
    assert job.duration_ms is not None and job.finished_at is not None


def test_a_job_without_a_store_refreshes_every_store(rt, connection_id):
    source = source_with([[product("a")]])
    source.products[OTHER] = [[product("x")]]
    run(rt, connection_id, source)
    assert set(current_products(rt, connection_id, OTHER)) == {"x"}
    assert set(current_products(rt, connection_id, STORE)) == {"a"}


def test_an_item_listed_twice_while_paging_is_stored_once(rt, connection_id):
    run(rt, connection_id, source_with([[product("a", "old")], [product("a", "new")]]), store_id=STORE)
    assert current_products(rt, connection_id)["a"].name == "new"


def test_absent_fields_stay_absent_and_empty_ones_stay_empty(rt, connection_id):
    bare = product("bare", price=Decimal("0"), type="SHOES_MARKED", allow_to_sell=False, measure=None)
    full = product("full", price=Decimal("123.12"), cost_price=Decimal("100.123"), quantity=Decimal("-2.5"),
                   barcodes=[], description="", code="00012", article="A-1", attributes_choices={})
    run(rt, connection_id, source_with([[bare, full]]), store_id=STORE)
    stored = current_products(rt, connection_id)
    assert stored["bare"].price == Decimal("0") and stored["bare"].price is not None
    assert (stored["bare"].cost_price, stored["bare"].quantity, stored["bare"].barcodes,
            stored["bare"].description, stored["bare"].code, stored["bare"].measure) == (None,) * 6
    assert stored["bare"].type == "SHOES_MARKED"
    assert stored["full"].price == Decimal("123.12")
    assert stored["full"].cost_price == Decimal("100.123")
    assert stored["full"].quantity == Decimal("-2.5")
    assert stored["full"].barcodes == [] and stored["full"].description == ""
    assert stored["full"].attributes_choices == {}


def test_a_refresh_replaces_the_snapshot_and_deleted_products_disappear(rt, connection_id):
    run(rt, connection_id, source_with([[product("a"), product("b")]]), store_id=STORE)
    run(rt, connection_id, source_with([[product("b"), product("c")]]), store_id=STORE)
    assert set(current_products(rt, connection_id)) == {"b", "c"}
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CatalogSnapshot)) == 1  # the old one is gone
        assert session.scalar(select(func.count()).select_from(CatalogProduct)) == 2


def test_a_failed_refresh_keeps_the_previous_snapshot_and_says_why(rt, connection_id):
    run(rt, connection_id, source_with([[product("a")]]), store_id=STORE)
    failing = source_with([[product("b")], [product("c")]], fail_at={4: forbidden()})
    job = run(rt, connection_id, failing, store_id=STORE)
    assert job.state == RefreshState.FAILED
    assert job.error == "Нет права product:read" and job.error_code == "http_403"
    assert set(current_products(rt, connection_id)) == {"a"}
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CatalogSnapshot)) == 1


def test_nobody_sees_a_half_loaded_catalog_while_a_refresh_runs(rt, connection_id):
    run(rt, connection_id, source_with([[product("a")]]), store_id=STORE)
    seen: list[set[str]] = []

    def look(_n: int) -> None:
        seen.append(set(current_products(rt, connection_id)))

    run(rt, connection_id, source_with([[product("b")], [product("c")]], on_request=look), store_id=STORE)
    assert seen and all(ids == {"a"} for ids in seen)
    assert set(current_products(rt, connection_id)) == {"b", "c"}


def test_progress_is_recorded_page_by_page_while_the_job_runs(rt, connection_id):
    progress: list[tuple[str, int, int]] = []

    def look(_n: int) -> None:
        with rt.sessions() as session:
            job = session.scalars(select(CatalogRefreshJob)).one()
            progress.append((job.state, job.pages_read, job.items_read))

    pages = [[product(f"p{i}-{j}") for j in range(2)] for i in range(3)]
    run(rt, connection_id, source_with(pages, on_request=look), store_id=STORE)
    assert progress[-1] == (RefreshState.RUNNING, 3, 5)  # before the last products page
    assert [p[1] for p in progress] == sorted(p[1] for p in progress)


def test_a_rate_limit_is_waited_out_for_the_reset_and_the_same_page_asked_again(rt, connection_id):
    waits: list[float] = []
    source = source_with([[product("a")], [product("b")]], fail_at={4: rate_limited(7)})
    job = run(rt, connection_id, source, store_id=STORE, waits=waits)
    assert job.state == RefreshState.SUCCEEDED
    assert waits == [7]
    assert source.calls[3] == source.calls[4] == f"products/{STORE}:c1"
    assert set(current_products(rt, connection_id)) == {"a", "b"}


def test_a_rate_limit_longer_than_the_budget_fails_the_job_and_keeps_the_catalog(rt, connection_id):
    run(rt, connection_id, source_with([[product("a")]]), store_id=STORE)
    waits: list[float] = []
    source = source_with([[product("b")]], fail_at={2: rate_limited(3600)})
    job = run(rt, connection_id, source, store_id=STORE, waits=waits)
    assert job.state == RefreshState.FAILED and job.error_code == "http_429"
    assert waits == []
    assert set(current_products(rt, connection_id)) == {"a"}


def test_a_second_request_joins_the_one_already_queued(rt, connection_id, alice):
    first = refresh.request_refresh(rt.sessions, connection_id, store_id=STORE, source=RefreshSource.USER,
                                    user_id=alice.id)
    second = refresh.request_refresh(rt.sessions, connection_id, store_id=STORE, source=RefreshSource.SCHEDULE)
    assert second.id == first.id
    widened = refresh.request_refresh(rt.sessions, connection_id, store_id=OTHER, source=RefreshSource.USER)
    assert widened.id == first.id and widened.store_id is None


def test_requests_racing_from_many_threads_make_one_job_and_one_worker_runs_it(rt, connection_id):
    barrier = threading.Barrier(6)
    ids: list[int] = []

    def ask() -> None:
        barrier.wait()
        ids.append(refresh.request_refresh(rt.sessions, connection_id, store_id=STORE,
                                           source=RefreshSource.USER).id)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1
    claims: list[object] = []
    claim_barrier = threading.Barrier(4)

    def claim() -> None:
        claim_barrier.wait()
        claims.append(refresh.claim_next(rt.sessions, threading.current_thread().name))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(1 for c in claims if c is not None) == 1


def test_a_job_whose_worker_died_is_claimed_again_and_its_half_load_dropped(rt, connection_id):
    refresh.request_refresh(rt.sessions, connection_id, store_id=STORE, source=RefreshSource.USER)
    job = refresh.claim_next(rt.sessions, "dead-worker")
    assert job is not None
    with rt.sessions.begin() as session:
        session.add(CatalogSnapshot(connection_id=connection_id, store_id=STORE, job_id=job.id, state="loading"))
    assert refresh.claim_next(rt.sessions, "other") is None  # the lease still holds
    later = utcnow() + refresh.LEASE + timedelta(seconds=1)
    again = refresh.claim_next(rt.sessions, "other", now=later)
    assert again is not None and again.id == job.id
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CatalogSnapshot)) == 0


def test_one_connection_failing_to_open_does_not_stop_the_others(rt, connection_id, alice):
    from connhub.models import Connection
    from connhub.providers.base import ProviderError

    with rt.sessions() as session:
        other = Connection(user_id=alice.id, provider="vk", auth_method="oauth", access_token_sealed="x")
        session.add(other)
        session.commit()
        other_id = other.id
    refresh.request_refresh(rt.sessions, other_id, store_id=None, source=RefreshSource.SCHEDULE)
    refresh.request_refresh(rt.sessions, connection_id, store_id=None, source=RefreshSource.SCHEDULE)

    def open_source(cid: int):
        if cid == other_id:
            raise ProviderError("Токен отозван", permanent=True, code="http_401")
        return source_with([[product("a")]])

    done = refresh.run_pending(rt.sessions, "w", open_source)
    assert {j.connection_id: j.state for j in done} == {other_id: "failed", connection_id: "succeeded"}


def test_the_schedule_queues_only_connections_not_refreshed_within_the_interval(rt, connection_id, alice, bob):
    from connhub.models import Connection

    with rt.sessions() as session:
        dead = Connection(user_id=bob.id, provider="evotor", auth_method="token", access_token_sealed="x",
                          status=Status.RECONNECT)
        session.add(dead)
        session.commit()
    interval = timedelta(hours=1)
    assert refresh.request_due_refreshes(rt.sessions, providers=["evotor"], interval=interval) == 1
    refresh.run_pending(rt.sessions, "w", lambda _c: source_with([[product("a")]]))
    assert refresh.request_due_refreshes(rt.sessions, providers=["evotor"], interval=interval) == 0
    later = utcnow() + interval + timedelta(seconds=1)
    assert refresh.request_due_refreshes(rt.sessions, providers=["evotor"], interval=interval, now=later) == 1
    with rt.sessions() as session:
        job = session.scalars(select(CatalogRefreshJob).where(CatalogRefreshJob.finished_at.is_(None))).one()
        assert job.source == RefreshSource.SCHEDULE and job.connection_id == connection_id


def test_a_store_no_longer_listed_is_removed_with_its_catalog(rt, connection_id):
    source = source_with([[product("a")]])
    source.products[OTHER] = [[product("x")]]
    run(rt, connection_id, source)
    source.stores_list = source.stores_list[:1]
    run(rt, connection_id, source)
    with rt.sessions() as session:
        assert set(session.scalars(select(CatalogSnapshot.store_id))) == {STORE}


def test_a_refresh_of_a_store_the_account_no_longer_has_fails_saying_so(rt, connection_id):
    job = run(rt, connection_id, source_with([[product("a")]]), store_id="20991231-0000-0000-0000-000000000000")
    assert job.state == RefreshState.FAILED and job.error_code == "store_gone"
    assert job.error == "Магазин больше не найден у сервиса Эвотор"


def test_a_cursor_that_comes_back_again_stops_the_job_instead_of_looping(rt, connection_id):
    class Looping(ScriptedSource):
        def products_page(self, store_id, cursor):  # noqa: ANN001, ANN201
            self._request(f"products:{cursor}")
            return Page([product(f"p{len(self.calls)}")], "same-cursor")

    job = run(rt, connection_id, Looping([StoreRecord(STORE, "Магазин")], {}, {}), store_id=STORE)
    assert job.state == RefreshState.FAILED and job.error_code == "cursor_loop"
