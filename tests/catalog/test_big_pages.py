"""A catalog page is big by design (1000 products with descriptions), so catalog calls have their own
body cap, larger than the one on account and token answers, and still a cap."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connhub.crypto import Secret
from connhub.providers.base import ProviderError
from connhub.providers.evotor.catalog import PAGE_MAX_BYTES, EvotorCatalog
from connhub.providers.http import MAX_BODY_BYTES
from tests.reliability.hostile import HostileServer, huge_json_chunks, json_bytes

STORE = "20180820-7052-4047-807D-E82C50000000"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def products_page(count: int, description_chars: int) -> bytes:
    items = [{"id": f"00000000-0000-0000-0000-{n:012d}", "name": f"Товар {n}", "type": "NORMAL",
              "price": 10.5, "description": "о" * description_chars} for n in range(count)]
    return json_bytes({"items": items, "paging": {}})


def test_a_catalog_page_larger_than_an_account_answer_may_be_is_read_whole(hostile):
    body = products_page(1000, 1500)  # ~3 MiB: 1000 products with long descriptions
    assert MAX_BODY_BYTES < len(body) < PAGE_MAX_BYTES
    hostile.answer("GET", f"/stores/{STORE}/products", headers=JSON, body=body)
    catalog = EvotorCatalog(hostile.base_url, Secret("token"), timeout=10)

    page = catalog.products_page(STORE, None)

    assert len(page.items) == 1000 and page.next_cursor is None


def test_a_catalog_page_beyond_its_own_cap_is_provider_trouble(hostile):
    body = huge_json_chunks(PAGE_MAX_BYTES + (8 << 20), prefix=b'{"items": [{"id": "p-1", "name": "', suffix=b'"}]}')
    hostile.answer("GET", f"/stores/{STORE}/products", headers=JSON, content_length=False, body=body)
    catalog = EvotorCatalog(hostile.base_url, Secret("token"), timeout=30)

    with pytest.raises(ProviderError) as refused:
        catalog.products_page(STORE, None)

    assert "слишком большой ответ" in refused.value.reason and not refused.value.permanent
