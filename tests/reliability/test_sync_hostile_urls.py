"""Ids from the catalog enter Evotor URLs as one path segment each: the token goes to the address meant.

A product id is whatever Evotor's catalog (or anyone who can write to it) says; `x?limit=1`,
`../stores` or `a#b` must not turn the image-list request, which carries the token, into another.
"""

from __future__ import annotations

import pytest

from connhub.crypto import Secret
from connhub.providers import http
from connhub.providers.base import ProviderError
from connhub.providers.evotor.catalog import EvotorCatalog
from connhub.providers.evotor.images import EvotorImages
from tests.reliability.hostile import HostileServer


@pytest.mark.parametrize(("product_id", "path"), [
    ("x?limit=1", "/api/stores/s-1/products/x%3Flimit%3D1/images"),
    ("../stores", "/api/stores/s-1/products/..%2Fstores/images"),
    ("a#b", "/api/stores/s-1/products/a%23b/images"),
    ("a%2Fb", "/api/stores/s-1/products/a%252Fb/images"),
    ("p-1", "/api/stores/s-1/products/p-1/images"),
])
def test_a_product_id_is_one_path_segment_of_the_image_list_url(product_id, path):
    with HostileServer() as server:
        server.answer("GET", path, json_body={"items": []})
        images = EvotorImages(f"{server.base_url}/api", Secret("evotor-token"), timeout=2)
        assert images.image("s-1", product_id) is None
        seen = server.requests_to(path)
        assert len(seen) == 1 and seen[0].query == ""
        assert seen[0].headers["Authorization"] == "Bearer evotor-token"


def test_a_store_id_is_one_path_segment_of_the_catalog_url():
    path = "/api/stores/..%2F..%2Fother%3Fa%3D1/products"
    with HostileServer() as server:
        server.answer("GET", path, json_body={"items": []})
        catalog = EvotorCatalog(f"{server.base_url}/api", Secret("evotor-token"), timeout=2)
        assert catalog.products_page("../../other?a=1", None).items == []
        assert len(server.requests_to(path)) == 1


@pytest.mark.parametrize("product_id", ["..", ".", ""])
def test_an_id_that_cannot_be_one_segment_is_that_products_error_and_nothing_is_sent(product_id):
    with HostileServer() as server:
        images = EvotorImages(f"{server.base_url}/api", Secret("evotor-token"), timeout=2)
        with pytest.raises(ProviderError) as caught:
            images.image("s-1", product_id)
        assert caught.value.code == "bad_id" and not caught.value.permanent
        assert server.requests_to("/api/stores/s-1/images") == [] and server.requests_to("/api/stores/s-1") == []


def test_a_segment_keeps_ordinary_ids_as_they_are():
    assert http.segment("20170228-F4F1-401B-80FA-9ECCA8451FFB") == "20170228-F4F1-401B-80FA-9ECCA8451FFB"
    assert http.segment("a.b") == "a.b"
