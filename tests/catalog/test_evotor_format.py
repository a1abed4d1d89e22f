"""Evotor's v2 catalog JSON read into records: absent stays absent, one bad item costs only itself."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connhub.providers.base import ProviderError
from connhub.providers.evotor.catalog import parse_group, parse_page, parse_product

FULL = {
    "id": "97f46a78-6bc4-4995-9cbc-60914b031c23", "parent_id": "5cd54680-5152-11e9-91c7-4b1dd1e1bcf8",
    "name": "Товар 1", "type": "NORMAL", "measure_name": "шт", "tax": "VAT_18", "allow_to_sell": True,
    "price": 123.12, "cost_price": 100.123, "quantity": -2.5, "code": "42", "article_number": "A-1",
    "barcodes": ["2000000000060"], "description": "", "attributes_choices": {"a": "b"},
    "store_id": "20180820-7052-4047-807D-E82C50000000", "user_id": "00-000000000000000",
    "created_at": "2019-04-25T10:26:45.085+0000", "updated_at": "2019-04-25T10:26:45.085+0000",
}


def test_every_field_is_read_with_exact_decimals_and_the_evotor_timestamp():
    product = parse_product(FULL)
    assert (product.price, product.cost_price, product.quantity) == (
        Decimal("123.12"), Decimal("100.123"), Decimal("-2.5"))
    assert product.group_id == FULL["parent_id"] and product.article == "A-1" and product.code == "42"
    assert product.barcodes == ["2000000000060"] and product.description == ""
    assert product.attributes_choices == {"a": "b"} and product.measure == "шт" and product.tax == "VAT_18"
    assert product.updated_at == datetime(2019, 4, 25, 10, 26, 45, 85000, tzinfo=UTC)


def test_absent_fields_are_none_never_zero():
    product = parse_product({"id": "x", "name": "Услуга", "type": "SERVICE", "measure_name": "шт",
                             "tax": "NO_VAT", "allow_to_sell": True, "price": 0})
    assert product.price == Decimal("0")
    assert (product.cost_price, product.quantity, product.group_id, product.barcodes, product.description,
            product.code, product.article, product.attributes_choices) == (None,) * 8


def test_an_unknown_type_is_kept_as_it_came():
    assert parse_product({**FULL, "type": "TEA_MARKED_2027"}).type == "TEA_MARKED_2027"


def test_a_modification_group_is_one_with_attributes():
    group = parse_group({"id": "g", "name": "Джинсы", "attributes": [], "barcodes": ["1"]})
    assert group.is_modification_group and group.parent_id is None
    assert not parse_group({"id": "h", "name": "Напитки", "parent_id": "g"}).is_modification_group


def test_paging_without_next_cursor_ends_and_a_bad_item_is_skipped_alone():
    page = parse_page({"items": [FULL, {"name": "без id"}, "junk", {**FULL, "id": "y", "price": "abc"}],
                       "paging": {}}, parse_product)
    assert [p.id for p in page.items] == [FULL["id"]]
    assert page.next_cursor is None and page.skipped == 3
    assert parse_page({"items": [], "paging": {"next_cursor": "abc"}}, parse_product).next_cursor == "abc"


@pytest.mark.parametrize("body", [[], {"paging": {}}, {"items": {}, "paging": {}},
                                  {"items": [], "paging": {"next_cursor": 5}}])
def test_a_body_that_is_not_a_page_is_provider_trouble(body):
    with pytest.raises(ProviderError) as caught:
        parse_page(body, parse_product)
    assert caught.value.permanent is False
