"""Figures for issue 7: the real checker against the hostile provider server.

    python bench/hostile.py [--database-url URL]
    python bench/hostile.py --catalog [--probe-seconds 90]   # issue 15 defect 3 only

Prints, for the rows of issue 7 that are about time or memory, what one run measured: the
64 MiB answer (peak RSS of the checker, what was stored), the dripped answer (one check's time
and the time SIGTERM takes), and five VK refreshes against a 9 s token endpoint (how long the
app's sign-in and disconnect writes took meanwhile, and whether any refresh token was spent
twice). The tests in tests/reliability assert the same behaviour with generous bounds.

`--catalog` (issue 15, defect 3): `checker.py --catalog-once` against an Evotor catalog whose
product pages never end (1,000 products a page, a new cursor every time), with the default
bounds: requests served, seconds, peak RSS, and the job's end. The probe kills the checker after
`--probe-seconds` if it has not ended by itself (what it did before the bounds).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connhub.connections import delete_for_user  # noqa: E402
from connhub.db import execute_write  # noqa: E402
from connhub.models import Base, utcnow  # noqa: E402
from connhub.runtime import Runtime  # noqa: E402
from tests.reliability.hostile import HostileServer, huge_json_chunks, json_bytes  # noqa: E402
from tests.reliability.hostile_catalog import (  # noqa: E402
    JSON,
    PRODUCTS,
    endless_pages,
    job,
    queue_refresh,
    serve_catalog,
    thousand_products,
)
from tests.support.checker import (  # noqa: E402
    checker_env,
    connection,
    provider_env,
    records,
    run_checker,
    seed,
    start_checker,
    wait_for_line,
)
from tests.support.connect import make_user  # noqa: E402
from tests.support.sandbox import settings_for  # noqa: E402

STORES = "/evotor-api/stores"


def runtime(directory: Path, hostile: HostileServer, database_url: str | None, **overrides: object) -> Runtime:
    values: dict[str, object] = {"HTTP_TIMEOUT_SECONDS": 2, **provider_env(hostile.base_url), **overrides}
    if database_url:
        values["DATABASE_URL"] = database_url
    rt = Runtime.from_settings(settings_for(directory, **values))
    Base.metadata.drop_all(rt.engine)
    Base.metadata.create_all(rt.engine)
    return rt


def huge(database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as directory, HostileServer() as hostile:
        rt = runtime(Path(directory), hostile, database_url)
        shop = seed(rt, "shop", "evotor")
        hostile.answer("GET", STORES, content_length=False, headers={"Content-Type": "application/json"},
                       body=huge_json_chunks(64 << 20, prefix=b'{"items": [{"id": "1", "name": "', suffix=b'"}]}'))
        started = time.monotonic()
        run = run_checker(rt, "--once")
        took = time.monotonic() - started
        last = records(rt, shop)[-1]
        print(f"row 3  64 MiB answer: checker peak RSS {run.peak_rss_mb:.0f} MB, run {took:.1f} s, "
              f"stored outcome={last.outcome} reason={last.reason!r}, "
              f"display_name length {len(connection(rt, shop).display_name)}")
        rt.close()


def drip(database_url: str | None) -> None:
    body = json_bytes({"items": [{"id": "s-1", "name": "Ч" * 100}]})
    with tempfile.TemporaryDirectory() as directory, HostileServer() as hostile:
        rt = runtime(Path(directory), hostile, database_url)
        shop = seed(rt, "shop", "evotor")
        hostile.answer("GET", STORES, headers={"Content-Type": "application/json"}, body=body, drip=0.25)
        started = time.monotonic()
        run = run_checker(rt, "--once")
        took = time.monotonic() - started
        print(f"row 4  dripped answer, HTTP_TIMEOUT_SECONDS=2: whole --once run {took:.1f} s "
              f"(exit {run.returncode}), stored reason={records(rt, shop)[-1].reason!r}")
        process = start_checker(rt)
        wait_for_line(process, "started")
        hostile.wait_for_request(STORES, count=2)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=120)
        print(f"row 4  SIGTERM during a dripped answer: stopped in {time.monotonic() - started:.2f} s "
              f"(exit {process.returncode})")
        rt.close()


def slow_refresh(database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as directory, HostileServer() as hostile:
        rt = runtime(Path(directory), hostile, database_url, HTTP_TIMEOUT_SECONDS=20)
        soon = utcnow() + timedelta(seconds=30)
        ids = [seed(rt, f"person{n}", "vk", refresh=True, expires_at=soon) for n in range(5)]
        hostile.answer("POST", "/vk-id/oauth2/auth", delay=9,
                       json_body={"access_token": "fresh", "refresh_token": "rotated", "expires_in": 3600,
                                  "token_type": "Bearer"})
        hostile.answer("GET", "/vk-api/method/users.get",
                       json_body={"response": [{"id": 1, "first_name": "Иван", "last_name": "Иванов"}]})
        started_run = time.monotonic()
        process = start_checker(rt, "--once")
        hostile.wait_for_request("/vk-id/oauth2/auth")
        started = time.monotonic()
        make_user(rt, "newcomer")
        sign_in = time.monotonic() - started
        owner = connection(rt, ids[0]).user_id
        execute_write(rt.sessions, lambda session: delete_for_user(session, owner, ids[0]))
        both = time.monotonic() - started
        _, log = process.communicate(timeout=180)
        spent = [parse_qs(seen.body.decode())["refresh_token"][0] for seen in hostile.requests_to("/vk-id/oauth2/auth")]
        print(f"row 6  5 refreshes, VK ID answers in 9 s: sign-in write {sign_in * 1000:.0f} ms, sign-in + "
              f"disconnect {both * 1000:.0f} ms while refreshes were in flight; whole --once run "
              f"{time.monotonic() - started_run:.1f} s; refresh requests {len(spent)}, distinct refresh tokens "
              f"{len(set(spent))}; 'database is locked' in log: {'database is locked' in log}")
        rt.close()


def _peak_rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            match = re.search(r"VmHWM:\s+(\d+) kB", status.read())
    except OSError:
        return None
    return int(match.group(1)) / 1024 if match else None


def endless_catalog(database_url: str | None, probe_seconds: float) -> None:
    with tempfile.TemporaryDirectory() as directory, HostileServer() as hostile:
        rt = runtime(Path(directory), hostile, database_url)
        shop = seed(rt, "shop", "evotor")
        serve_catalog(hostile, products=[])
        hostile.answer("GET", PRODUCTS, headers=JSON, body=endless_pages(thousand_products))
        job_id = queue_refresh(rt, shop)
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "checker.py", "--catalog-once"], cwd=ROOT,
                                   env=checker_env(rt), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peak = 0.0
        try:  # a probe, not a test: sample the process's high-water mark until it ends or time is up
            while process.poll() is None and time.monotonic() - started < probe_seconds:
                peak = max(peak, _peak_rss_mb(process.pid) or 0.0)
                time.sleep(0.2)
            ended = process.poll() is not None
            if not ended:
                peak = max(peak, _peak_rss_mb(process.pid) or 0.0)
                os.kill(process.pid, signal.SIGKILL)
            process.wait()
        finally:
            if process.poll() is None:
                process.kill()
        took = time.monotonic() - started
        row = job(rt, job_id)
        served = len(hostile.requests_to(PRODUCTS))
        print(f"defect 3  endless product pages (1,000 products each): "
              f"{'ended by itself' if ended else f'still running, killed after {probe_seconds:g} s'} in {took:.1f} s; "
              f"{served} product pages served; peak RSS at least {peak:.0f} MB; job state={row.state} "
              f"requests recorded={row.requests} pages={row.pages_read} items={row.items_read} "
              f"error={row.error!r}")
        rt.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--catalog", action="store_true", help="only the endless catalog (issue 15, defect 3)")
    parser.add_argument("--probe-seconds", type=float, default=90.0)
    args = parser.parse_args()
    print(f"database: {'SQLite' if not args.database_url else args.database_url.split('://')[0]}")
    if args.catalog:
        endless_catalog(args.database_url, args.probe_seconds)
        return 0
    huge(args.database_url)
    drip(args.database_url)
    slow_refresh(args.database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
