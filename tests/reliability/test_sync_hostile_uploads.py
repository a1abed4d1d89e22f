"""An upload server that never answers costs a few photos' deadlines, not every photo's.

Each upload waits for the whole request deadline; after three in a row fail, the run uploads no
more photos, says why once, and publishes its products without a new photo. A batch's bulk upload
(providers/vk/photos_bulk.py) is one upload: when it fails, that batch goes one photo at a time.
"""

from __future__ import annotations

from tests.reliability.hostile_sync import (
    run_sync,
)
from tests.support.goods import add_products, by_sku
from tests.support.images import give_images, ready_with_evotor_images

SELECTED = ("p-sencha", "p-gyokuro", "p-assam", "p-latte")


def test_an_upload_server_that_never_answers_is_given_up_after_three_photos(rt, alice, vk_goods, evotor_catalog, proxy):
    snapshot = ready_with_evotor_images(rt, alice, vk_goods)
    more = add_products(rt, snapshot, 6)
    give_images(evotor_catalog, *SELECTED, *more)
    proxy.override("POST", r"^/vk/upload/photo", delay=4)  # past the 2 s deadline, every time

    done = run_sync(rt, proxy, alice, HTTP_TIMEOUT_SECONDS="2")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "добавлено 10" in done.stdout
    assert len(proxy.seen(r"^/vk/upload/photo")) == 3  # the batch's bulk upload, then two photos alone
    assert len(proxy.seen(r"^/vk/upload/photos")) == 1
    assert done.stdout.count("Загрузка фото остановлена до конца запуска") == 1
    assert done.stdout.count("не загружено") == 2  # the two tried alone; the rest are not listed one by one
    items = by_sku(vk_goods)
    assert len(items) == 10 and not any(found[0]["photos"] for found in items.values())


def test_failed_uploads_short_of_three_in_a_row_do_not_stop_the_uploads(rt, alice, vk_goods, evotor_catalog, proxy):
    ready_with_evotor_images(rt, alice, vk_goods)
    give_images(evotor_catalog, *SELECTED)
    proxy.override("POST", r"^/vk/upload/photo", status=502, body=b"<html>bad gateway</html>", times=2)

    done = run_sync(rt, proxy, alice)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Загрузка фото остановлена" not in done.stdout
    # the bulk upload and then the first photo alone fail; the batch's other photos go up one by one
    assert done.stdout.count("не загружено") == 1
    items = by_sku(vk_goods)
    assert sum(1 for pid in SELECTED if items[pid][0]["photos"]) == 3
