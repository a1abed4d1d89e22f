"""A deeply nested JSON answer costs one product's photo (or one call), never the run.

30,000 nested arrays are valid JSON that Python's decoder gives up on with RecursionError, which
used to escape every handler and end the run with nothing published. The real
`python -m connhub.sync` runs here against the sandbox behind a hostile proxy.
"""

from __future__ import annotations

import pytest

from connhub.crypto import Secret
from connhub.providers import http
from connhub.providers.base import ProviderError
from connhub.providers.vk.api import VkApi, VkApiError
from tests.reliability.hostile import HostileServer
from tests.reliability.hostile_sync import DEEP, run_sync
from tests.support.goods import by_sku
from tests.support.images import give_images, ready_with_evotor_images

SELECTED = {"p-sencha", "p-gyokuro", "p-assam", "p-latte"}


def test_a_deep_image_list_for_one_product_costs_only_that_products_photo(rt, alice, vk_goods, evotor_catalog, proxy):
    ready_with_evotor_images(rt, alice, vk_goods)
    give_images(evotor_catalog, "p-sencha", "p-assam", "p-latte")
    proxy.override("GET", r"/products/p-sencha/images$", body=DEEP)

    done = run_sync(rt, proxy, alice)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "добавлено 4" in done.stdout
    assert "Фото товара p-sencha не получено: Эвотор прислал непонятный ответ" in done.stdout
    items = by_sku(vk_goods)
    assert set(items) == SELECTED
    assert {pid for pid in SELECTED if items[pid][0]["photos"]} == {"p-assam", "p-latte"}


def test_a_deep_upload_reply_costs_the_photos_not_the_run(rt, alice, vk_goods, evotor_catalog, proxy):
    ready_with_evotor_images(rt, alice, vk_goods)
    give_images(evotor_catalog, "p-sencha", "p-assam")
    proxy.override("POST", r"^/vk/upload/photo", body=DEEP)

    done = run_sync(rt, proxy, alice)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "добавлено 4" in done.stdout
    assert "Сервер загрузки фото ВКонтакте прислал непонятный ответ" in done.stdout
    items = by_sku(vk_goods)
    assert set(items) == SELECTED
    assert not any(items[pid][0]["photos"] for pid in SELECTED)


def test_a_deep_vk_answer_stops_the_run_with_a_reason_not_a_traceback(rt, alice, vk_goods, proxy):
    ready_with_evotor_images(rt, alice, vk_goods)
    proxy.override("POST", r"^/vk/method/", body=DEEP)

    done = run_sync(rt, proxy, alice)

    assert done.returncode == 5, done.stdout + done.stderr  # stopped: VK does not answer usefully
    assert "Traceback" not in done.stderr and "Непредвиденная ошибка" not in done.stdout + done.stderr
    assert "ВКонтакте прислал непонятный ответ" in done.stdout


# ---------------------------------------------------------------------------- the one decoding


@pytest.mark.parametrize("body", [DEEP, b'{"a":' * 100 + b"1" + b"}" * 100, b"\xff\xfe not json", b"<html>"])
def test_every_body_a_client_cannot_use_is_a_provider_error(body):
    with pytest.raises(ProviderError) as caught:
        http.decode_json(body, "Эвотор", code="bad_body_200")
    assert caught.value.code == "bad_body_200" and caught.value.permanent is False


def test_ordinary_nesting_decodes():
    assert http.decode_json(b'{"response": {"items": [{"photos": [{"sizes": [{"url": "x"}]}]}]}}', "ВКонтакте") == {
        "response": {"items": [{"photos": [{"sizes": [{"url": "x"}]}]}]}}


def test_a_deep_vk_method_answer_is_that_calls_error():
    with HostileServer() as server:
        server.answer("POST", "/method/market.get", body=DEEP)
        server.answer("POST", "/upload", body=DEEP)
        api = VkApi(Secret("t"), api_url=server.base_url, timeout=2, sleep=lambda _s: None)
        with pytest.raises(VkApiError) as caught:
            api.call("market.get", {"owner_id": -1})
        assert caught.value.reason == "ВКонтакте прислал непонятный ответ"
        with pytest.raises(VkApiError) as upload:
            api.upload(f"{server.base_url}/upload", filename="a.png", data=b"x")
        assert "непонятный ответ" in upload.value.reason
