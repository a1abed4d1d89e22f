"""Benchmark the sync against the sandbox's VK goods (which enforces 3 requests a second per token).

    python bench/sync.py [--products 1000] [--changes 10] [--no-photos] [--database-url URL]
                         [--albums] [--stock] [--groups 10] [--variants]

1. Starts the sandbox providers as their own process; mints a VK user token with the goods rights.
2. Seeds one user in a fresh database: both connections, a catalog copy of N products (each with its
   own 300×300 PNG image), a configuration switched on.
3. First run into the empty community: every product added with its photo (padded, uploaded once).
4. Second run, nothing changed: no write call at all.
5. N changed prices in the catalog: exactly those items edited.
Counts come from the sandbox's per-method counters; times are wall-clock. `--albums` puts the
products into `--groups` top-level groups and turns «Подборки во ВКонтакте» on (one album a group);
`--stock` turns «Передавать остаток» on (album and stock calls count as writes). `--variants` makes
every four products one modification group (Цвет × Размер, 2 × 2) and turns «Модификации как варианты
товара во ВКонтакте» on (property, variant and groupItems calls count as writes).
"""

from __future__ import annotations

import argparse
import io
import math
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from PIL import Image  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from bench.checker import start_sandbox, stop_sandbox  # noqa: E402
from connhub.crypto import Secret  # noqa: E402
from connhub.models import (  # noqa: E402
    Base,
    CatalogGroup,
    CatalogProduct,
    CatalogSnapshot,
    CatalogStore,
    Connection,
    SnapshotState,
    Status,
    SyncRun,
    utcnow,
)
from connhub.ports.images import ImageBytes  # noqa: E402
from connhub.providers.vk.sandbox import GoodsControl  # noqa: E402
from connhub.runtime import (  # noqa: E402
    Runtime,  # noqa: E402
    emulations,
    load_settings,
)
from connhub.sandbox import sandbox_env  # noqa: E402
from connhub.sync import config, status  # noqa: E402
from connhub.sync.config import Choices, Community  # noqa: E402
from connhub.sync.policies import DEFAULT_TEMPLATE  # noqa: E402
from connhub.sync.runs import Trigger  # noqa: E402
from connhub.sync.service import run_now  # noqa: E402
from connhub.sync.shop_options import AlbumMode, ShopOptions, save_options  # noqa: E402
from connhub.users import ensure_user  # noqa: E402

STORE = "20170228-F4F1-401B-80FA-9ECCA8451FFB"
GROUP = 218252175
CATEGORY = 500
WRITES = ("market.add", "market.edit", "market.delete", "market.restore", "market.saveProductPhoto",
          "market.addAlbum", "market.editAlbum", "market.deleteAlbum", "market.addToAlbum", "market.removeFromAlbum",
          "market.saveProductPhotoBulk", "market.addProperty", "market.addPropertyVariant", "market.groupItems")
COLOURS, SIZES = ("Красный", "Синий"), ("S", "M")
ATTRIBUTES = [{"id": "a-colour", "name": "Цвет", "choices": [{"id": f"c-{c}", "name": c} for c in COLOURS]},
              {"id": "a-size", "name": "Размер", "choices": [{"id": f"s-{z}", "name": z} for z in SIZES]}]


def png(n: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (n % 256, (n // 256) % 256, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


def seed(rt: Runtime, token: str, products: int, *, groups: int = 1, variants: bool = False) -> tuple[int, int]:
    with rt.sessions() as session:
        user = ensure_user(session, subject="bench", email="bench@example.test", name="Bench")
        session.commit()
    with rt.sessions() as session:
        rows = {}
        for provider, account in (("evotor", "01-000000000000001"), ("vk", "743784474")):
            row = Connection(user_id=user.id, provider=provider, auth_method="oauth", account_id=account,
                             display_name=provider, profile={}, access_token_sealed=rt.cipher.seal(
                                 Secret(token if provider == "vk" else "bench-evotor-token")),
                             refresh_token_sealed=None, token_version=1, status=Status.ONLINE, is_online=True)
            if provider == "vk":
                row.profile = {"rights": {"groups": True, "market": True, "photos": True,
                                          "checked_at": utcnow().isoformat(), "note": ""}}
            session.add(row)
            session.flush()
            rows[provider] = row.id
        session.add(CatalogStore(connection_id=rows["evotor"], store_id=STORE, name="Чайная", position=0))
        snapshot = CatalogSnapshot(connection_id=rows["evotor"], store_id=STORE, state=SnapshotState.CURRENT,
                                   completed_at=utcnow(), group_count=1, product_count=products)
        session.add(snapshot)
        session.flush()
        for g in range(groups):
            session.add(CatalogGroup(snapshot_id=snapshot.id, id=f"g-{g}" if groups > 1 else "g-all",
                                     name=f"Группа {g + 1}" if groups > 1 else "Все товары"))
        families = products // 4 if variants else 0  # every four products one modification group
        for f in range(families):
            parent = f"g-{f % groups}" if groups > 1 else "g-all"
            session.add(CatalogGroup(snapshot_id=snapshot.id, id=f"m-{f}", parent_id=parent, name=f"Футболка {f + 1}",
                                     is_modification_group=True, attributes=ATTRIBUTES))
        for n in range(products):
            family = n // 4 if n // 4 < families else None
            chosen = ({"a-colour": f"c-{COLOURS[n % 2]}", "a-size": f"s-{SIZES[(n // 2) % 2]}"}
                      if family is not None else None)
            session.add(CatalogProduct(snapshot_id=snapshot.id, id=f"{n:08d}-0000-4000-8000-000000000000",
                                       group_id=(f"m-{family}" if family is not None
                                                 else f"g-{n % groups}" if groups > 1 else "g-all"),
                                       name=f"Товар номер {n + 1}", measure="шт", quantity=Decimal(n % 50),
                                       article=f"A-{n}", price=Decimal(100 + n) + Decimal("0.50"),
                                       allow_to_sell=True, type="NORMAL", attributes_choices=chosen))
        session.commit()
        snapshot_id = snapshot.id
    choices = Choices(stores={STORE: "Чайная"}, communities={GROUP: Community(GROUP, "Магазин у дома", True)},
                      categories={CATEGORY: "Продукты питания / Напитки"})
    with rt.sessions.begin() as session:
        config.save_settings(session, user.id, {
            "store_id": STORE, "vk_group_id": GROUP, "vk_category_id": CATEGORY, "on_removed": "hide",
            "on_not_for_sale": "hide", "on_zero_price": "skip", "price_multiplier": "1",
            "description_template": DEFAULT_TEMPLATE}, choices)
    status.switch_on(rt, user.id, confirmed_by="bench", shown=status.sync_status(rt, user.id).snapshot)
    return user.id, snapshot_id


def _source(images: dict[str, bytes]) -> Callable[[str, str], ImageBytes | None]:
    refs = {pid: ImageBytes.of(data) for pid, data in images.items()}
    return lambda store, pid: refs.get(pid)


class Silence:
    """Polls the run's row: the longest stretch in which its progress (phase, done, total, counts)
    did not change, as a watcher of the page would see it."""

    EVERY = 0.1

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.longest = 0.0
        self.where = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        last: tuple[object, ...] | None = None
        since = time.monotonic()
        while not self._stop.wait(self.EVERY):
            with self.rt.sessions() as session:
                row = session.scalar(select(SyncRun).order_by(SyncRun.id.desc()).limit(1))
                seen = None if row is None else (row.id, row.phase, row.done, row.total, row.added, row.changed,
                                                 row.failed, row.skipped)
            now = time.monotonic()
            if seen != last:
                last, since = seen, now
            elif row is not None and row.state == "running" and now - since > self.longest:
                self.longest, self.where = now - since, row.phase

    def __enter__(self) -> Silence:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(rt: Runtime, user_id: int, control: GoodsControl, images: dict[str, bytes] | None) -> dict[str, float]:
    control.reset_stats()
    started = time.monotonic()
    with Silence(rt) as silence:
        _run, outcome = run_now(rt, user_id, trigger=Trigger.CLI, triggered_by="bench",
                                images=_source(images) if images is not None else None)
    elapsed = time.monotonic() - started
    stats = control.stats()
    calls = stats["calls"]
    api = stats["requests_total"]
    # one upload POST per one-by-one save, one per bulk upload (photos_bulk.py)
    uploads = calls.get("market.saveProductPhoto", 0) + calls.get("upload.bulk", 0)
    return {"state": outcome.state, "seconds": elapsed, "api_requests": api, "uploads": uploads,
            "http_requests": api + uploads, "writes": sum(calls.get(m, 0) for m in WRITES),
            "edits": calls.get("market.edit", 0), "adds": calls.get("market.add", 0),
            "albums": calls.get("market.addAlbum", 0), "placements": calls.get("market.addToAlbum", 0),
            "properties": calls.get("market.addProperty", 0), "variants": calls.get("market.addPropertyVariant", 0),
            "item_groups": calls.get("market.groupItems", 0),
            "rejected_for_rate": stats["rejected_for_rate"], "silent": silence.longest, "silent_in": silence.where,
            **{k: v for k, v in outcome.counts.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--no-photos", action="store_true")
    parser.add_argument("--database-url")
    parser.add_argument("--albums", action="store_true", help="one album per group («Подборки во ВКонтакте»)")
    parser.add_argument("--stock", action="store_true", help="«Передавать остаток» on")
    parser.add_argument("--groups", type=int, default=10, help="top-level groups (with --albums)")
    parser.add_argument("--variants", action="store_true",
                        help="every four products one modification group, published as variants")
    args = parser.parse_args()

    sandbox, base_url = start_sandbox(0)
    workdir = Path(tempfile.mkdtemp(prefix="connhub-bench-sync-"))
    try:
        settings = load_settings(_env_file=None, DATABASE_URL=args.database_url or f"sqlite:///{workdir}/bench.db",
                                 CONNHUB_SECRET_KEY=Fernet.generate_key().decode(), CONNHUB_DATA_DIR=workdir,
                                 CATALOG_REFRESH_INTERVAL_SECONDS=7 * 24 * 3600, **sandbox_env(base_url, emulations()))
        rt = Runtime.from_settings(settings)
        Base.metadata.create_all(rt.engine)
        control = GoodsControl(base_url)
        token = control.user_token(("groups", "market", "photos"))
        user_id, snapshot_id = seed(rt, token, args.products, groups=args.groups if args.albums else 1,
                                    variants=args.variants)
        save_options(rt.sessions, user_id, ShopOptions(send_stock=args.stock, variants=args.variants,
                                                       album_mode=AlbumMode.TOP if args.albums else AlbumMode.OFF))
        ids = [f"{n:08d}-0000-4000-8000-000000000000" for n in range(args.products)]
        images = None if args.no_photos else {pid: png(n) for n, pid in enumerate(ids)}
        n = args.products

        first = measure(rt, user_id, control, images)
        options = "".join(f", {o}" for o, on in (("albums", args.albums), ("stock", args.stock),
                                                  ("variants", args.variants)) if on)
        print(f"first run ({n} products{'' if images else ', no photos'}{options}): {first['state']}, "
              f"{first['seconds']:.1f} s, {first['api_requests']} API requests + {first['uploads']} photo uploads "
              f"= {first['http_requests'] / n:.3f} requests a product ({first['api_requests'] / n:.3f} API), "
              f"{first['api_requests'] / first['seconds']:.2f} API requests/s, added {first['added']}, "
              f"rejected for rate {first['rejected_for_rate']}, albums made {first['albums']} "
              f"(addToAlbum calls {first['placements']}), properties made {first['properties']}, "
              f"variants made {first['variants']}, groupItems calls {first['item_groups']}")
        print(f"longest silent stretch (no progress written) in the first run: {first['silent']:.1f} s "
              f"(phase «{first['silent_in']}»)")
        second = measure(rt, user_id, control, images)
        budget = math.ceil(n / 200) + 3
        print(f"second run (nothing changed): {second['seconds']:.1f} s, {second['api_requests']} requests "
              f"(budget {budget}), {second['writes']} write calls, unchanged {second['unchanged']}")
        with rt.sessions() as session:
            for pid in ids[:args.changes]:
                session.execute(update(CatalogProduct).where(CatalogProduct.snapshot_id == snapshot_id,
                                                             CatalogProduct.id == pid)
                                .values(price=CatalogProduct.price + 1))
            session.execute(update(CatalogSnapshot).where(CatalogSnapshot.id == snapshot_id)
                            .values(completed_at=utcnow()))
            session.commit()
        third = measure(rt, user_id, control, images)
        print(f"{args.changes} prices changed: {third['seconds']:.1f} s, {third['api_requests']} requests, "
              f"{third['edits']} market.edit calls, changed {third['changed']}, unchanged {third['unchanged']}")
        # 1.3 requests a product, plus the few every run makes whatever its size (the community, the
        # listing): at a tiny size (tests/test_benches.py) those few are most of it.
        # Albums add three requests a run whatever its size (getAlbums, one addAlbum batch, one addToAlbum batch).
        # Variants add three requests a run (getProperties, one addProperty batch, one addPropertyVariant
        # batch) and one groupItems batch per 25 modification groups.
        extra = (3 if args.albums else 0) + (3 + math.ceil(n // 4 / 25) if args.variants else 0)
        ok = (first["http_requests"] <= 1.3 * n + 5 + extra
              and first["rejected_for_rate"] == 0 and second["writes"] == 0
              and second["api_requests"] <= budget and third["edits"] == args.changes)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
        print(f"peak memory of the bench process (the sync ran in it; the sandbox is its own process): "
              f"{peak_mb:.0f} MB")
        print("targets met" if ok else "TARGETS MISSED")
        rt.close()
        return 0 if ok else 1
    finally:
        stop_sandbox(sandbox, workdir)


if __name__ == "__main__":
    sys.exit(main())
