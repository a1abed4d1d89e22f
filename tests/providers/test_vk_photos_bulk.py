"""Goods photos in bulk (`market.getProductPhotoUploadServer(bulk=1)` + `market.saveProductPhotoBulk`)
against the sandbox's VK, and the fall back to the one-by-one chain when VK refuses bulk."""

from __future__ import annotations

import pytest

from connhub.crypto import Secret
from connhub.ports.goods import Draft, GoodsError, GoodsErrorKind, Photo, PhotoFile
from connhub.providers.vk.api import RateLimiter, RetryPolicy, VkApi
from connhub.providers.vk.goods import Goods
from connhub.providers.vk.goods_target import VkGoodsTarget
from connhub.sync.photos import pad_photo
from tests.support.images import image_bytes

SHOP = 218252175


def fields(n: int) -> dict[str, object]:
    return {"name": f"Товар {n}", "description": f"Описание товара номер {n}", "category_id": 500,
            "price": "100.00", "sku": f"p-{n}"}


@pytest.fixture
def target(sandbox, vk_goods) -> VkGoodsTarget:
    token = vk_goods.user_token(("groups", "market", "photos"))
    api = VkApi(Secret(token), api_url=f"{sandbox.base_url}/vk", timeout=10, limiter=RateLimiter(),
                retry=RetryPolicy(attempts=3, base_delay=0.05))
    return VkGoodsTarget(Goods(api))


def photos(count: int, opened: list[int] | None = None) -> list[Photo]:
    def make(n: int) -> PhotoFile:
        if opened is not None:
            opened.append(n)
        padded = pad_photo(image_bytes(colour=(n % 256, 10, 10)))
        return PhotoFile(padded.filename, padded.data)
    return [Photo(lambda n=n: make(n)) for n in range(count)]


def bulk_switch(vk_goods, on: bool) -> None:
    vk_goods._call("POST", "photos-bulk", {"on": on})


def test_photos_go_up_in_bulk_one_request_a_batch_after_the_first(target, vk_goods, sandbox):
    vk_goods.reset_stats()
    ids = target.upload_photos(SHOP, photos(60))
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 60
    stats = vk_goods.stats()
    # 3 batches of at most 25, each as uploads of at most 5 files: the first batch's addresses in one
    # execute, then one execute a batch (its saves + the next batch's addresses)
    assert stats["requests"] == {"execute": 4}
    assert stats["calls"].get("market.saveProductPhotoBulk") == 12 and "market.saveProductPhoto" not in stats["calls"]
    assert stats["calls"]["upload.bulk"] == 12
    added = target.add(SHOP, [_draft(n, pid) for n, pid in enumerate(ids[:3])])
    assert all(isinstance(a, int) for a in added)
    items = {item["sku"]: item for item in vk_goods.items(SHOP)}
    assert [items[f"p-{n}"]["photos"][0]["id"] for n in range(3)] == ids[:3]
    photo = sandbox.state.extra("vk").photos[ids[0]]
    assert (photo.width, photo.height) == (400, 400)


def test_bulk_opens_one_image_at_a_time_in_order_and_a_broken_one_fails_alone(target, vk_goods):
    opened: list[int] = []
    batch = photos(4, opened)

    def broken() -> PhotoFile:
        raise GoodsError("Изображение повреждено", GoodsErrorKind.FIX_PHOTO)

    batch[1] = Photo(broken)
    ids = target.upload_photos(SHOP, batch)
    assert opened == [0, 2, 3]
    assert isinstance(ids[1], GoodsError) and ids[1].reason == "Изображение повреждено"
    assert all(isinstance(ids[n], int) for n in (0, 2, 3))


def test_when_vk_refuses_bulk_the_photos_go_one_by_one_for_the_rest_of_the_run(target, vk_goods):
    bulk_switch(vk_goods, False)
    vk_goods.reset_stats()
    ids = target.upload_photos(SHOP, photos(30))
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 30
    calls = vk_goods.stats()["calls"]
    assert calls["market.saveProductPhoto"] == 30 and "market.saveProductPhotoBulk" not in calls
    vk_goods.reset_stats()
    target.upload_photos(SHOP, photos(2))
    assert vk_goods.stats()["calls"]["market.getProductPhotoUploadServer"] == 2  # bulk not tried again
    added = target.add(SHOP, [_draft(n, pid) for n, pid in enumerate(ids[:2])])
    assert all(isinstance(a, int) for a in added)


def test_an_unknown_save_method_falls_back_and_every_photo_is_saved_once(target, vk_goods, sandbox):
    goods_state = sandbox.state.extra("vk")
    goods_state._methods.pop("market.saveProductPhotoBulk")  # VK before 2025-01-15: error 3
    vk_goods.reset_stats()
    ids = target.upload_photos(SHOP, photos(5))
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 5
    calls = vk_goods.stats()["calls"]
    assert calls["market.saveProductPhoto"] == 5
    assert target._bulk.off is not None and "3" in target._bulk.off


def _draft(n: int, photo_id: int | GoodsError) -> Draft:
    assert isinstance(photo_id, int)
    return Draft(fields(n), photo_id)
