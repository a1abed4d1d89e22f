"""Benchmark the health history: the dashboard's rerun over a full history, and what history costs on disk.

    python bench/history.py [--connections 1000] [--days 90] [--interval 600] [--repeat 15] [--database-url URL]

1. Seeds --connections connections (two a user, Evotor and VK), --days of hourly and daily rollups
   for each, and HISTORY_RAW_DAYS (7) of raw check records at one check per --interval seconds
   (what the sidecar leaves behind), into a fresh SQLite file (or the empty PostgreSQL database given).
2. Dashboard rerun: runs «Подключения» in Streamlit's AppTest (the script as the server runs it)
   as one of those users and times a rerun (the median of --repeat), counting the SQL statements
   of a rerun with SQLAlchemy events, for a user with one connection and a user with two.
3. The history's read for all the connections at once (connhub.health.history_views.histories):
   time and statements, the figure that must not grow with the connections.
4. One roll-up tick over the raw window (the sidecar's HistoryWorker).
5. Bytes on disk per connection per day: the rollups (kept --days) and the raw records (kept 7
   days), tables with their indexes (SQLite's dbstat, PostgreSQL's pg_total_relation_size).
Targets (issue 18): a rerun <= 50 ms with a constant number of statements.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from sqlalchemy import event, insert, text, true  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from connhub.health.history import floor_day, floor_hour, roll_up  # noqa: E402
from connhub.health.history_views import histories  # noqa: E402
from connhub.models import Base, CheckRecord, CheckRollup, Connection, User  # noqa: E402
from connhub.runtime import Runtime, load_settings  # noqa: E402

AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "bench",
        "client_id": "bench", "client_secret": "bench",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
RAW_DAYS = 7
CHUNK = 20_000
STATUSES = ["online"] * 97 + ["offline"] * 2 + ["reconnect"]


def chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_all(rt: Runtime, table: Any, rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    with rt.engine.begin() as connection:
        for batch in chunks(rows):
            connection.execute(insert(table), batch)
            count += len(batch)
    return count


def seed(rt: Runtime, *, connections: int, days: int, interval: int, now: datetime) -> list[int]:
    """Users with two connections each, their rollups and their raw window; the first user's id first."""
    users = [dict(subject=f"oidc:bench-{n}", email=f"bench-{n}@example.test", name=f"Bench {n}")
             for n in range((connections + 1) // 2)]
    insert_all(rt, User.__table__, iter(users))
    with rt.engine.connect() as connection:
        user_ids = [row[0] for row in connection.execute(text("SELECT id FROM users ORDER BY id"))]
    rows = ({"user_id": user_ids[n // 2], "provider": ("evotor", "vk")[n % 2], "auth_method": "oauth",
             "access_token_sealed": "placeholder", "status": "online", "account_id": "", "display_name": "Bench",
             "profile": {}, "auth_params": {}, "token_version": 1, "consecutive_failures": 0,
             "consecutive_successes": 3, "is_online": True, "status_reason": "",
             "created_at": now, "updated_at": now} for n in range(connections))
    insert_all(rt, Connection.__table__, rows)
    with rt.engine.connect() as connection:
        ids = [row[0] for row in connection.execute(text("SELECT id FROM connections ORDER BY id"))]
    rng = random.Random(18)
    per_hour = max(1, 3600 // interval)

    def rollups() -> Iterator[dict[str, Any]]:
        first_hour = floor_hour(now) - timedelta(days=days)
        for cid in ids:
            for hour in range(days * 24):
                p50 = rng.randint(80, 200)
                yield dict(connection_id=cid, period="hour", bucket_start=first_hour + timedelta(hours=hour),
                           checks=per_hour, failures=0, worst_status=rng.choice(STATUSES), p50_ms=p50,
                           p95_ms=p50 + rng.randint(0, 400))
            for day in range(days):
                yield dict(connection_id=cid, period="day", bucket_start=floor_day(now) - timedelta(days=day),
                           checks=per_hour * 24, failures=rng.randint(0, 3), worst_status=rng.choice(STATUSES),
                           p50_ms=130, p95_ms=420)

    def raw() -> Iterator[dict[str, Any]]:
        start = now - timedelta(days=RAW_DAYS)
        for cid in ids:
            for n in range(RAW_DAYS * 86400 // interval):
                yield dict(connection_id=cid, checked_at=start + timedelta(seconds=n * interval + cid % interval),
                           source="checker", outcome="ok", status_after="online", reason="",
                           latency_ms=rng.randint(60, 600))

    started = time.perf_counter()
    count = insert_all(rt, CheckRollup.__table__, rollups())
    print(f"seeded {len(ids)} connections: {count} rollups in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    count = insert_all(rt, CheckRecord.__table__, raw())
    print(f"  and {count} raw check records ({RAW_DAYS} days) in {time.perf_counter() - started:.1f} s")
    if rt.engine.dialect.name == "postgresql":
        with rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with rt.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    return user_ids


def counting(engine_cls: type[Engine]) -> tuple[list[str], Callable[[], None]]:
    seen: list[str] = []

    def on_execute(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine_cls, "before_cursor_execute", on_execute)
    return seen, lambda: event.remove(engine_cls, "before_cursor_execute", on_execute)


def open_dashboard(rt: Runtime, user_id: int, timeout: float) -> AppTest:
    for name, value in rt.settings.env().items():
        os.environ[name] = value
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.secrets["auth"] = dict(AUTH)
    at.context["timezone"] = "Europe/Moscow"
    at.user["is_logged_in"] = True
    at.user["sub"] = f"bench-{user_id - 1}"
    at.user["email"] = f"bench-{user_id - 1}@example.test"
    at.user["name"] = "Bench"
    at.run()
    if at.exception:
        raise SystemExit(f"the dashboard failed: {at.exception}")
    return at


def rerun(at: AppTest, repeat: int) -> tuple[float, int]:
    """The median rerun in ms and the statements of one rerun."""
    times = []
    seen, stop = counting(Engine)
    try:
        for _ in range(repeat):
            seen.clear()
            started = time.perf_counter()
            at.run()
            times.append((time.perf_counter() - started) * 1000)
    finally:
        stop()
    if at.exception:
        raise SystemExit(f"the dashboard failed: {at.exception}")
    return statistics.median(times), len(seen)


def bytes_of(rt: Runtime, table: str) -> int:
    with rt.engine.connect() as connection:
        if rt.engine.dialect.name == "postgresql":
            return int(connection.scalar(text("SELECT pg_total_relation_size(:t)"), {"t": table}) or 0)
        return int(connection.scalar(text("SELECT SUM(pgsize) FROM dbstat WHERE name = :t OR name LIKE :i "
                                          "OR name LIKE :a"),
                                     {"t": table, "i": f"ix_{table}_%", "a": f"sqlite_autoindex_{table}_%"}) or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--interval", type=int, default=600, help="seconds between two checks of a connection")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database (default: a SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="connhub-bench-history-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/history.db"
        settings = load_settings(DATABASE_URL=url, CONNHUB_DATA_DIR=Path(tmp),
                                 CONNHUB_SECRET_KEY=SecretStr(Fernet.generate_key().decode()),
                                 HEALTH_CHECK_INTERVAL_SECONDS=args.interval)
        rt = Runtime.from_settings(settings)
        try:
            Base.metadata.create_all(rt.engine)
            now = datetime.now(UTC)
            user_ids = seed(rt, connections=args.connections, days=args.days, interval=args.interval, now=now)
            print(f"database: {rt.engine.dialect.name}, {args.days} days of rollups, one check every "
                  f"{args.interval} s")

            at = open_dashboard(rt, user_ids[0], timeout=60)
            two_ms, two_statements = rerun(at, args.repeat)
            with rt.engine.begin() as connection:  # the first user keeps one connection
                connection.execute(text("DELETE FROM connections WHERE user_id = :u AND provider = 'vk'"),
                                   {"u": user_ids[0]})
            one_ms, one_statements = rerun(at, args.repeat)
            constant = "constant" if one_statements == two_statements else "NOT constant"
            print(f"dashboard rerun: {two_ms:.1f} ms (median of {args.repeat}), {two_statements} SQL statements "
                  f"with 2 cards; {one_ms:.1f} ms, {one_statements} statements with 1 card ({constant})")

            seen, stop = counting(Engine)
            started = time.perf_counter()
            with rt.sessions() as session:
                everyone = histories(session, true(), now=now)
            elapsed = (time.perf_counter() - started) * 1000
            stop()
            print(f"history of all {len(everyone)} connections at once: {elapsed:.0f} ms, "
                  f"{sum(1 for s in seen if s.lstrip().upper().startswith('SELECT'))} SELECT statements")

            started = time.perf_counter()
            stats = roll_up(rt.sessions, raw_days=RAW_DAYS, rollup_days=args.days, now=now)
            print(f"one roll-up tick: {stats.records} raw records into {stats.rollups} rollups in "
                  f"{time.perf_counter() - started:.1f} s")

            connections = args.connections
            rollup_bytes, raw_bytes = bytes_of(rt, "check_rollups"), bytes_of(rt, "check_records")
            per_rollup_day = rollup_bytes / (connections * args.days) if args.days else 0
            per_raw_day = raw_bytes / (connections * RAW_DAYS)
            steady = per_rollup_day * 90 + per_raw_day * RAW_DAYS
            print(f"bytes per connection per day: rollups {per_rollup_day:.0f} (kept {args.days} days), raw "
                  f"records {per_raw_day:.0f} (kept {RAW_DAYS} days); a connection's whole history at the "
                  f"defaults: {steady / 1024:.0f} KiB")
            met = two_ms <= 50 and one_statements == two_statements
            print("targets met" if met else "targets NOT met (rerun <= 50 ms, constant statements)")
        finally:
            rt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
