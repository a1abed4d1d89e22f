"""Evotor product images through the client, against the sandbox's Evotor over localhost."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from connhub.crypto import Secret
from connhub.providers.base import ProviderError
from connhub.providers.evotor.images import EvotorImages, parse_images
from connhub.providers.evotor.sandbox import catalog_http as sandbox_catalog

STORE = "20170228-F4F1-401B-80FA-9ECCA8451FFB"


@pytest.fixture
def images(sandbox, sandbox_control) -> EvotorImages:
    token = sandbox_control.mint_tokens("evotor")["tokens"][0]["access_token"]
    return EvotorImages(f"{sandbox.base_url}/evotor/api", Secret(token), timeout=10)


def catalog(sandbox_control, **payload):
    return sandbox_catalog.configure(sandbox_control, **payload)


def test_the_seeded_catalog_has_images_for_a_good_share_of_products_only(sandbox_control):
    answer = catalog(sandbox_control, list_ids=True)
    share = len(answer["with_images"]) / len(answer["ids"])
    assert 0.4 < share < 0.8


def test_a_products_image_is_listed_and_downloads_as_the_same_300_png_each_time(images, sandbox_control):
    product_id = catalog(sandbox_control, list_ids=True)["with_images"][0]
    image = images.image(STORE, product_id)
    assert image is not None and image.meta.extension == "png" and (image.meta.width, image.meta.height) == (300, 300)
    assert image.updated_at is not None and image.url.startswith("http://127.0.0.1")
    data = images.download(image.url)
    assert len(data) == image.meta.file_size and data == images.download(image.url)
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.format == "PNG" and picture.size == (300, 300)
    assert catalog(sandbox_control)["image_downloads"] == 2


def test_a_product_without_image_lists_none(images, sandbox_control):
    answer = catalog(sandbox_control, list_ids=True)
    without = next(pid for pid in answer["ids"] if pid not in set(answer["with_images"]))
    assert images.image(STORE, without) is None


def test_set_change_and_remove_an_image_through_the_control_api(images, sandbox_control):
    product_id = catalog(sandbox_control, list_ids=True)["ids"][0]
    catalog(sandbox_control, images=[{"product_id": product_id, "action": "set"}])
    first = images.image(STORE, product_id)
    catalog(sandbox_control, images=[{"product_id": product_id, "action": "set"}])
    second = images.image(STORE, product_id)
    assert first is not None and second is not None and first.version != second.version
    with pytest.raises(ProviderError):  # the old file is gone with the old image
        images.download(first.url)
    catalog(sandbox_control, images=[{"product_id": product_id, "action": "remove"}])
    assert images.image(STORE, product_id) is None


def test_a_missing_image_right_names_the_right(images, sandbox_control):
    product_id = catalog(sandbox_control, list_ids=True)["with_images"][0]
    catalog(sandbox_control, forbid=["images"])
    with pytest.raises(ProviderError) as raised:
        images.image(STORE, product_id)
    assert raised.value.permanent and "product.image:read" in raised.value.reason


def test_a_file_past_evotors_size_cap_is_refused_without_reading_it_all(images, sandbox_control):
    product_id = catalog(sandbox_control, list_ids=True)["ids"][0]
    catalog(sandbox_control, images=[{"product_id": product_id, "action": "set", "pad_to": 5_242_801}])
    image = images.image(STORE, product_id)
    assert image is not None
    with pytest.raises(ProviderError) as raised:
        images.download(image.url)
    assert raised.value.code == "too_large"


def test_a_malformed_image_item_is_left_out():
    body = {"items": [{"id": 5}, {"id": "i-1", "url": "https://static.example/i-1", "meta": "?",
                                   "updated_at": "2018-09-04T13:31:01.104+0000"}], "paging": {}}
    image = parse_images(body)
    assert image is not None and image.id == "i-1" and image.meta.width is None
    with pytest.raises(ProviderError):
        parse_images({"paging": {}})
