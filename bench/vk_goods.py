"""Benchmark the VK goods client against the sandbox: a first publication with photos, a re-read, 10 edits.

Publishes N mapped products (default 1000), each with a padded photo, into an empty sandbox
community through the batched calls a sync uses (per 25 products: one `execute` for upload
addresses, 25 uploads to the upload server, one `execute` of `market.saveProductPhoto`, one
`execute` of `market.add`), reads everything back (`market.get`, 200 a page) and checks every
price in kopecks, then edits 10 prices (one `execute`). It prints API requests by method,
requests per product, wall time and the request rate, and how many requests the sandbox refused
for going over 3 a second (the client must keep that at zero).

    python bench/vk_goods.py [--products 1000] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from connhub.crypto import Secret  # noqa: E402
from connhub.providers.vk.api import VkApi  # noqa: E402
from connhub.providers.vk.goods import Goods  # noqa: E402
from connhub.providers.vk.sandbox import GoodsControl  # noqa: E402
from connhub.runtime import emulations  # noqa: E402
from connhub.sandbox import SandboxControl  # noqa: E402
from connhub.sandbox.server import SandboxServer  # noqa: E402
from connhub.sync.mapping import MappingPolicy, ProductFacts, map_product  # noqa: E402
from connhub.sync.photos import pad_photo  # noqa: E402

GROUP = 218252175
BATCH = 25


def evotor_image(n: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (n % 256, (n // 256) % 256, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=0, help="latency the sandbox adds to every VK request")
    args = parser.parse_args()

    with SandboxServer(emulations(), port=0) as sandbox:
        control, goods_control = SandboxControl(sandbox.base_url), GoodsControl(sandbox.base_url)
        if args.latency_ms:
            control.set_fault("vk-api", latency_ms=args.latency_ms)
        api = VkApi(Secret(goods_control.user_token()), api_url=f"{sandbox.base_url}/vk", timeout=30)
        goods = Goods(api)
        policy = MappingPolicy(category_id=500)
        items = [map_product(ProductFacts(id=f"00000000-0000-4000-8000-{n:012d}", name=f"Товар номер {n}",
                                          measure="шт", price=Decimal(100 + n) + Decimal("0.99"),
                                          image=f"img-{n}"), policy)
                 for n in range(args.products)]

        started = time.monotonic()
        padded_time = 0.0
        for start in range(0, len(items), BATCH):
            batch = items[start:start + BATCH]
            urls = goods.upload_urls(GROUP, len(batch))
            replies = []
            for offset, url in enumerate(urls):
                assert isinstance(url, str), url
                t0 = time.monotonic()
                photo = pad_photo(evotor_image(start + offset))
                padded_time += time.monotonic() - t0
                replies.append(api.upload(url, filename=photo.filename, data=photo.data))
            photo_ids = goods.save_photos(replies)
            results = goods.add_many(GROUP, [(item.params(), photo_id)  # type: ignore[union-attr]
                                             for item, photo_id in zip(batch, photo_ids, strict=True)])
            failed = [result.error for result in results if not result.ok]
            assert not failed, failed[:3]
        first = time.monotonic() - started
        first_requests = api.requests

        started = time.monotonic()
        read = goods.items(GROUP)
        reread = time.monotonic() - started
        reread_requests = api.requests - first_requests
        by_sku = {item.sku: item for item in read}
        assert len(by_sku) == len(items)
        assert all(by_sku[item.sku].price_kopecks == item.price_kopecks for item in items)  # type: ignore[union-attr]

        before_edit = api.requests
        changed = [(by_sku[item.sku].id, {**item.params(), "price": "1.00"}, None)  # type: ignore[union-attr]
                   for item in items[:10]]
        assert all(result.ok for result in goods.edit_many(GROUP, changed))
        edit_requests = api.requests - before_edit
        stats = goods_control.stats()

    n = len(items)
    print(f"products: {n} (with a padded photo each), sandbox latency {args.latency_ms} ms")
    print(f"first publication: {first_requests} API requests ({first_requests / n:.3f} per product), "
          f"{first:.1f} s, {first_requests / first:.2f} requests/s; padding photos took {padded_time:.1f} s")
    print(f"read back: {reread_requests} requests (market.get, 200 a page), {reread:.1f} s")
    print(f"10 price edits: {edit_requests} request(s)")
    print(f"requests by method (sandbox): {stats['requests']}")
    print(f"calls by method, inside execute too (sandbox): {stats['calls']}")
    print(f"refused for going over 3 requests a second: {stats['rejected_for_rate']}")
    return 0 if stats["rejected_for_rate"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
