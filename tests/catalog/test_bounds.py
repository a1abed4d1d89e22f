"""Issue 15: the refresh's bounds, the Evotor parser's cleaning and parent cycles, without a network.

The hostile-server tests in tests/reliability/test_catalog_hostile*.py drive the real checker;
these pin the edges (which bound fires first, the exact cut, every shape of a cycle) quickly.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from connhub.catalog import refresh
from connhub.crypto import Secret
from connhub.models import CatalogProduct, RefreshSource, RefreshState
from connhub.ports.catalog import GroupRecord, Page, RefreshBounds, StoreRecord
from connhub.providers.base import ProviderError
from connhub.providers.evotor.catalog import (
    MAX_THOUSANDTHS,
    EvotorCatalog,
    clean,
    parse_group,
    parse_page,
    parse_product,
    parse_store,
)
from connhub.providers.evotor.settings import EvotorSettings
from tests.reliability.hostile import HostileServer
from tests.reliability.hostile_catalog import endless_pages
from tests.support.catalog import STORE, ScriptedSource, product


def test_the_cut_lengths_are_the_models():
    limit = CatalogProduct.__table__.c.measure.type.length  # type: ignore[attr-defined]
    assert parse_product({"id": "p", "measure_name": "м" * (limit + 5)}).measure == "м" * limit
    assert clean("a\x00b\ud800c", 2) == "ab"


@pytest.mark.parametrize("price, kept", [
    (MAX_THOUSANDTHS // 1000, True), (str(Decimal(MAX_THOUSANDTHS // 1000) + 1), False),
    ("-1e16", False), ("1e16", False), (9999999.99, True), ("1e-400000", True)])
def test_a_number_is_kept_exactly_when_its_thousandths_fit_a_bigint(price, kept):
    page = parse_page({"items": [{"id": "p", "name": "Чай", "price": price}]}, parse_product)
    assert (len(page.items), page.skipped) == ((1, 0) if kept else (0, 1))
    if not kept:
        assert page.problems == [f"товар «Чай» (p): цена {price} вне допустимого диапазона"]


def test_an_id_is_never_cut_and_a_store_with_a_nul_in_its_id_is_left_out():
    page = parse_page({"items": [{"id": "s\x00", "name": "Склад"}, {"id": "s-2", "name": "Чай\x00ная"}]},
                      parse_store)
    assert page.items == [StoreRecord("s-2", "Чайная", None)]
    assert page.problems[0].startswith("магазин «Склад»")


@pytest.mark.parametrize("parents, lifted", [
    ({"a": "a"}, {"a"}),
    ({"a": "b", "b": "a"}, {"a"}),
    ({"a": "b", "b": "c", "c": "a", "d": "a", "e": None}, {"a"}),
    ({"x": "y", "y": "z", "z": "y"}, {"y"}),  # a tail into a cycle: only the cycle is cut
    ({"a": "missing", "b": "a"}, set()),  # a missing parent is not a cycle
    ({"a": "b", "b": "a", "c": "d", "d": "c"}, {"a", "c"}),
])
def test_every_parent_cycle_is_cut_once_at_its_smallest_id(parents, lifted):
    groups = [GroupRecord(gid, gid.upper(), parent) for gid, parent in parents.items()]
    fixed, moved = refresh.break_cycles(groups)
    assert {g.id for g in moved} == lifted
    by_id = {g.id: g.parent_id for g in fixed}
    assert by_id == {gid: (None if gid in lifted else parent) for gid, parent in parents.items()}
    for start in by_id:  # and now every chain ends
        seen, current = set(), start
        while current in by_id:
            assert current not in seen
            seen.add(current)
            current = by_id[current]


class Endless(ScriptedSource):
    """Product pages that never end, each with a new cursor."""

    def products_page(self, store_id, cursor):  # noqa: ANN001, ANN201
        self._request(f"products:{cursor}")
        number = 0 if cursor is None else int(cursor)
        return Page([product(f"p{number}-{n}") for n in range(self.page_size)], str(number + 1))


def endless(bounds: RefreshBounds, page_size: int = 10) -> Endless:
    source = Endless(stores_list=[StoreRecord(STORE, "Чайная")], groups={}, products={})
    source.page_size = page_size  # type: ignore[attr-defined]
    source.bounds = bounds  # type: ignore[attr-defined]
    return source


@pytest.mark.parametrize("bounds, page_size, code, words", [
    (RefreshBounds(max_pages=5), 10, "too_many_pages", "больше 5 страниц"),
    (RefreshBounds(max_items=25), 10, "too_many_items", "больше 25 товаров"),
    (RefreshBounds(max_requests=4), 10, "too_many_requests", "больше 4 запросов"),
    (RefreshBounds(max_items=10_000), 1000, "too_many_items", "больше 10\u00a0000 товаров"),
])
def test_each_bound_stops_the_job_and_is_named(rt, connection_id, bounds, page_size, code, words):
    refresh.request_refresh(rt.sessions, connection_id, store_id=None, source=RefreshSource.USER)
    job = refresh.run_pending(rt.sessions, "w", lambda _cid: endless(bounds, page_size), wait=lambda _s: None)[0]
    assert (job.state, job.error_code) == (RefreshState.FAILED, code)
    assert words in job.error and "прежняя копия каталога сохранена" in job.error


def test_the_time_bound_reads_the_clock_not_a_sleep(rt, connection_id):
    ticks = iter(range(0, 10_000, 7))  # each reading of the clock: 7 s later
    refresh.request_refresh(rt.sessions, connection_id, store_id=None, source=RefreshSource.USER)
    claimed = refresh.claim_next(rt.sessions, "w")
    assert claimed is not None
    job = refresh.run_job(rt.sessions, claimed, endless(RefreshBounds(max_seconds=60)), wait=lambda _s: None,
                          clock=lambda: float(next(ticks)))
    assert (job.state, job.error_code) == (RefreshState.FAILED, "too_slow")
    assert "дольше 60 с" in job.error
    assert job.requests < 12


def test_the_settings_carry_the_bounds(monkeypatch):
    monkeypatch.setenv("EVOTOR_CATALOG_MAX_PAGES", "7")
    bounds = EvotorSettings().catalog_bounds()
    assert bounds.max_pages == 7 and bounds.max_items == RefreshBounds().max_items


def test_a_deeply_nested_attribute_costs_its_group_only():
    deep: list[object] = []
    for _ in range(200):
        deep = [deep]
    page = parse_page({"items": [{"id": "g1", "name": "Футболки", "attributes": deep},
                                 {"id": "g2", "name": "Чай"}]}, parse_group)
    assert [g.id for g in page.items] == ["g2"]
    assert page.problems == ["группа «Футболки» (g1): слишком глубокая вложенность"]


def test_a_rejected_number_is_quoted_short():
    page = parse_page({"items": [{"id": "p", "price": "9" * 5000}]}, parse_product)
    assert page.skipped == 1 and len(page.problems[0]) < 80


def test_the_store_list_outside_a_job_has_the_same_repeat_check():
    with HostileServer() as hostile:
        hostile.answer("GET", "/stores", json_body={"items": [{"id": "s-1"}], "paging": {"next_cursor": "same"}})
        catalog = EvotorCatalog(hostile.base_url, Secret("t"), timeout=5, bounds=RefreshBounds(max_pages=50))
        with pytest.raises(ProviderError) as raised:
            catalog.stores()
        assert raised.value.code == "cursor_loop" and len(hostile.requests_to("/stores")) == 2
        hostile.answer("GET", "/stores", headers={"Content-Type": "application/json"},
                       body=endless_pages(lambda n: [{"id": f"s-{n}"}]))
        with pytest.raises(ProviderError) as raised:
            catalog.stores()
        assert raised.value.code == "too_many_pages" and "больше 50 страниц" in raised.value.reason
