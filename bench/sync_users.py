"""Benchmark many users' syncs at once (issue 19): N users × M products with photos, all requested at
once, run by one sidecar (and by two sidecars sharing a PostgreSQL database).

    python bench/sync_users.py [--users 20] [--products 100] [--sidecars 1] [--database-url URL]

1. Starts the sandbox providers as their own process (VK's 3 requests a second per token enforced).
2. Seeds N+1 users in a fresh database, each with their own VK token and M products (own 300×300
   PNG each), the sync switched on.
3. The bound: one more user's run alone, in a sidecar process (`checker`'s sync worker).
4. All N users' runs requested at once, then `--sidecars` sidecar processes run them (each its pool
   of SYNC_CONCURRENCY); the total is from the request to the last run's end.
Prints the total against the bound, VK's error 6 count, each sidecar's peak memory, and which
sidecar ran how many runs (no run twice: the runs' states and the sandbox's market.add count).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.checker import start_sandbox, stop_sandbox  # noqa: E402
from bench.sync import CATEGORY, GROUP, STORE, png  # noqa: E402
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
    SyncRunState,
    utcnow,
)
from connhub.ports.images import ImageBytes  # noqa: E402
from connhub.providers.vk.sandbox import GoodsControl  # noqa: E402
from connhub.runtime import Runtime, emulations, load_settings  # noqa: E402
from connhub.sandbox import sandbox_env  # noqa: E402
from connhub.sync import config, runs, status  # noqa: E402
from connhub.sync.config import Choices, Community  # noqa: E402
from connhub.sync.policies import DEFAULT_TEMPLATE  # noqa: E402
from connhub.sync.worker import sync_worker  # noqa: E402
from connhub.users import ensure_user  # noqa: E402


def product_id(user: int, n: int) -> str:
    return f"{user:04d}{n:04d}-0000-4000-8000-000000000000"


def seed_user(rt: Runtime, index: int, token: str, products: int) -> int:
    with rt.sessions() as session:
        user = ensure_user(session, subject=f"bench-{index}", email=f"bench{index}@example.test", name=f"U{index}")
        session.commit()
    with rt.sessions() as session:
        rows = {}
        for provider in ("evotor", "vk"):
            row = Connection(user_id=user.id, provider=provider, auth_method="oauth", account_id=f"{index}",
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
        session.add(CatalogGroup(snapshot_id=snapshot.id, id="g-all", name="Все товары"))
        for n in range(products):
            session.add(CatalogProduct(snapshot_id=snapshot.id, id=product_id(index, n), group_id="g-all",
                                       name=f"Товар {index}-{n + 1}", measure="шт", article=f"A-{index}-{n}",
                                       price=Decimal(100 + n), allow_to_sell=True, type="NORMAL"))
        session.commit()
    choices = Choices(stores={STORE: "Чайная"}, communities={GROUP: Community(GROUP, "Магазин у дома", True)},
                      categories={CATEGORY: "Продукты питания / Напитки"})
    with rt.sessions.begin() as session:
        config.save_settings(session, user.id, {
            "store_id": STORE, "vk_group_id": GROUP, "vk_category_id": CATEGORY, "on_removed": "hide",
            "on_not_for_sale": "hide", "on_zero_price": "skip", "price_multiplier": "1",
            "description_template": DEFAULT_TEMPLATE}, choices)
    status.switch_on(rt, user.id, confirmed_by="bench", shown=status.sync_status(rt, user.id).snapshot)
    return user.id


def settings_for(database_url: str, workdir: Path, base_url: str, key: str, concurrency: int):  # noqa: ANN201
    return load_settings(_env_file=None, DATABASE_URL=database_url, CONNHUB_SECRET_KEY=key, CONNHUB_DATA_DIR=workdir,
                         CATALOG_REFRESH_INTERVAL_SECONDS=7 * 24 * 3600, SYNC_CONCURRENCY=concurrency,
                         **sandbox_env(base_url, emulations()))


def sidecar(args: argparse.Namespace) -> int:
    """One sidecar process: its sync pool runs whatever is requested, then it reports its peak memory."""
    rt = Runtime.from_settings(settings_for(args.database_url, Path(args.workdir), args.base_url, args.key,
                                            args.concurrency))
    def images(store_id: str, pid: str) -> ImageBytes | None:  # each product's own PNG, made when asked for
        return ImageBytes.of(png(int(pid[:4]) * args.products + int(pid[4:8])))

    done = sync_worker(rt, threading.Event(), images=images).run_once()
    ran = len(done) if isinstance(done, list) else 0
    print(f"sidecar ran {ran} runs, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB",
          flush=True)
    rt.close()
    return 0


def start_sidecars(n: int, args: argparse.Namespace, database_url: str, workdir: Path, base_url: str,
                   key: str) -> list[str]:
    command = [sys.executable, __file__, "--sidecar", "--database-url", database_url, "--workdir", str(workdir),
               "--base-url", base_url, "--key", key, "--users", str(args.users), "--products", str(args.products),
               "--concurrency", str(args.concurrency)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(n)]
    return [proc.communicate(timeout=3600)[0].strip() for proc in procs]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--products", type=int, default=100)
    parser.add_argument("--sidecars", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=20, help="SYNC_CONCURRENCY of each sidecar")
    parser.add_argument("--database-url")
    parser.add_argument("--sidecar", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sidecar:
        return sidecar(args)

    sandbox, base_url = start_sandbox(0)
    workdir = Path(tempfile.mkdtemp(prefix="connhub-bench-users-"))
    key = Fernet.generate_key().decode()
    database_url = args.database_url or f"sqlite:///{workdir}/bench.db"
    try:
        rt = Runtime.from_settings(settings_for(database_url, workdir, base_url, key, args.concurrency))
        Base.metadata.drop_all(rt.engine)
        Base.metadata.create_all(rt.engine)
        control = GoodsControl(base_url)
        users = [seed_user(rt, index, control.user_token(("groups", "market", "photos")), args.products)
                 for index in range(args.users + 1)]
        solo, many = users[0], users[1:]

        runs.request_run(rt.sessions, solo, triggered_by="bench")
        started = time.monotonic()
        [alone_line] = start_sidecars(1, args, database_url, workdir, base_url, key)
        alone = time.monotonic() - started
        print(f"one user alone ({args.products} products with photos): {alone:.1f} s; {alone_line}")

        control.reset_stats()
        for user in many:
            runs.request_run(rt.sessions, user, triggered_by="bench")
        started = time.monotonic()
        lines = start_sidecars(args.sidecars, args, database_url, workdir, base_url, key)
        total = time.monotonic() - started
        stats = control.stats()
        with rt.sessions() as session:
            finished = session.scalar(select(func.count(SyncRun.id)).where(
                SyncRun.user_id.in_(many), SyncRun.state == SyncRunState.FINISHED)) or 0
        adds = stats["calls"].get("market.add", 0)
        print(f"{args.users} users × {args.products} products, all requested at once, {args.sidecars} sidecar(s) "
              f"(SYNC_CONCURRENCY={args.concurrency}, {rt.engine.dialect.name}): {total:.1f} s = "
              f"{total / alone:.1f}× one user's run alone; finished {finished} of {args.users}; "
              f"market.add {adds} (expected {args.users * args.products}); error 6: {stats['rejected_for_rate']}")
        for n, line in enumerate(lines, 1):
            print(f"  sidecar {n}: {line}")
        rt.close()
        ok = finished == args.users and adds == args.users * args.products
        print("all runs finished once" if ok else "RUNS MISSING OR DOUBLED")
        return 0 if ok else 1
    finally:
        stop_sandbox(sandbox, workdir)


if __name__ == "__main__":
    sys.exit(main())
