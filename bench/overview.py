"""Benchmark «Обзор»: server time per rerun and SQL statements, at 10,000 users / 20,000 connections.

    python bench/overview.py [--users 10000] [--repeat 7] [--database-url URL] [--no-page]

Seeds N users, each with one connection per registered provider (2 providers: 2N connections) in a
spread of states (online, offline, reconnect, never checked; one in 500 sealed with a foreign key),
a sync configuration for every second user (on, off, stale, stopped, failed) with its last run, and
two sidecar heartbeats. Then it measures, as the median of --repeat after one warm-up:
  1. `connhub.admin.service.overview` with no filter, and with «только проблемы» + an owner search;
  2. the «Обзор» page's whole rerun in Streamlit's AppTest (the script as the server runs it).
and counts the SQL statements each rerun sends (SQLAlchemy's before_cursor_execute event).
Goal (issue 21): <= 100 ms server time per rerun, a constant number of statements.
`run(users=...)` is what tests/test_bench_overview.py calls at a tiny size.
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
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import Engine, event, insert  # noqa: E402

from connhub.admin.access import Actor  # noqa: E402
from connhub.admin.service import Filters, overview  # noqa: E402
from connhub.crypto import Secret, TokenCipher  # noqa: E402
from connhub.models import (  # noqa: E402
    Base,
    CheckerHeartbeat,
    Connection,
    Status,
    SyncConfig,
    SyncRun,
    SyncRunState,
    User,
    utcnow,
)
from connhub.providers import PROVIDER_INFO  # noqa: E402
from connhub.runtime import Runtime, load_settings  # noqa: E402
from connhub.users import LOCAL_SUBJECT, UserView  # noqa: E402

STATUSES = (Status.ONLINE, Status.ONLINE, Status.ONLINE, Status.OFFLINE, Status.RECONNECT, Status.NEVER_CHECKED)


def seed(rt: Runtime, users: int, *, rng: random.Random | None = None) -> None:
    """N users with one connection per provider, syncs for every second one, two heartbeats."""
    rng = rng or random.Random(21)
    now = utcnow()
    foreign = TokenCipher([Fernet.generate_key()])
    good = rt.cipher.seal(Secret("bench-token"))
    bad = foreign.seal(Secret("bench-token"))
    with rt.engine.begin() as db:
        db.execute(insert(User), [dict(id=index + 1, subject=f"oidc:user{index}", email=f"user{index}@example.test",
                                       name=f"Пользователь {index}", created_at=now) for index in range(users)])
        rows: list[dict[str, Any]] = []
        for index in range(users):
            for provider in PROVIDER_INFO:
                status = rng.choice(STATUSES)
                checked = None if status is Status.NEVER_CHECKED else now - timedelta(minutes=rng.randint(1, 600))
                rows.append(dict(
                    user_id=index + 1, provider=provider, auth_method="oauth", account_id=str(index),
                    display_name=f"Аккаунт {index}", profile={}, access_token_sealed=bad if index % 500 == 7 else good,
                    refresh_token_sealed=None, token_version=1, status=status, status_reason="",
                    is_online=status is Status.ONLINE, consecutive_failures=0, consecutive_successes=0,
                    last_checked_at=checked, next_check_at=now + timedelta(seconds=rng.randint(-120, 600)),
                    auth_params={}, created_at=now, updated_at=now))
        db.execute(insert(Connection), rows)
        configs, runs = [], []
        for index in range(0, users, 2):
            kind = (index // 2) % 5  # on, off, stale, stopped, failed
            configs.append(dict(user_id=index + 1, evotor_store_id=f"store-{index}",
                                evotor_store_name=f"Магазин {index}",
                                vk_group_id=index + 1000, vk_group_name=f"Сообщество {index}", enabled=kind != 1,
                                confirmed_at=now if kind != 1 else None, confirmed_snapshot={}, created_at=now,
                                updated_at=now))
            state = {3: SyncRunState.STOPPED, 4: SyncRunState.FAILED}.get(kind, SyncRunState.FINISHED)
            at = now - (timedelta(days=3) if kind == 2 else timedelta(hours=1))
            runs.append(dict(user_id=index + 1, trigger="cron", triggered_by="cron", dry_run=False, state=state,
                             requested_at=at, started_at=at, finished_at=at, failures=[], plan={},
                             stop_reason="Товары выключены" if kind == 3 else ""))
        if configs:
            db.execute(insert(SyncConfig), configs)
            db.execute(insert(SyncRun), runs)
        for number in range(2):
            db.execute(insert(CheckerHeartbeat), [dict(
                checker_id=f"host{number}:{4000 + number}", started_at=now - timedelta(hours=1), last_beat_at=now,
                interval_seconds=600, last_cycle={"checked": 40, "duration_s": 1.5})])


@contextmanager
def counting() -> Iterator[list[str]]:
    """The SQL statements sent while inside."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    # Every engine of the process: the page builds its own runtime (and engine) from the environment.
    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def timed(call: Callable[[], Any], repeat: int) -> tuple[float, int]:
    """Median milliseconds over `repeat` calls (after one warm-up), and the statements per call."""
    call()
    times, counts = [], set()
    for _ in range(repeat):
        with counting() as seen:
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        counts.add(len(seen))
    return statistics.median(times), max(counts)


def page_rerun(rt: Runtime) -> Callable[[], Any]:
    """A rerun of «Обзор» in AppTest (local mode: the local operator administers)."""
    from streamlit import config as st_config
    from streamlit.testing.v1 import AppTest

    for name, value in rt.settings.env().items():
        os.environ[name] = value
    st_config.set_option("server.address", "127.0.0.1")
    st_config.set_option("client.showErrorDetails", "full")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.secrets["connhub_bench"] = "local mode"
    at.run()
    at.switch_page("pages/overview.py")
    at.run()
    assert not at.exception, [(e.message, e.stack_trace) for e in at.exception]

    def rerun() -> None:
        at.run()

    return rerun


def run(*, users: int, repeat: int = 7, database_url: str | None = None, page: bool = True,
        data_dir: Path | None = None) -> dict[str, Any]:
    """Seed, measure, and return the figures (see the module's docstring)."""
    work = Path(data_dir or tempfile.mkdtemp(prefix="connhub-bench-overview-"))
    settings = load_settings(DATABASE_URL=database_url or f"sqlite:///{work / 'connhub.db'}",
                             CONNHUB_DATA_DIR=str(work / "data"), CONNHUB_SECRET_KEY=Fernet.generate_key().decode())
    rt = Runtime.from_settings(settings)
    environ = dict(os.environ)  # the page's runtime reads the environment; put it back afterwards
    try:
        Base.metadata.create_all(rt.engine)
        started = time.perf_counter()
        seed(rt, users)
        seeded_s = time.perf_counter() - started
        actor = Actor(UserView(id=0, subject=LOCAL_SUBJECT, email="", name="bench"))
        cold_started = time.perf_counter()
        first = overview(rt, actor)
        cold_ms = (time.perf_counter() - cold_started) * 1000
        plain_ms, plain_sql = timed(lambda: overview(rt, actor), repeat)
        problems = Filters(problems_only=True, owner="user1")
        filtered_ms, filtered_sql = timed(lambda: overview(rt, actor, problems), repeat)
        result: dict[str, Any] = dict(
            users=users, connections=sum(first.connection_counts[state] for state in first.connection_counts
                                         if state.value != "unreadable"),
            unreadable=first.connection_counts[next(s for s in first.connection_counts if s.value == "unreadable")],
            seed_s=round(seeded_s, 2), cold_ms=round(cold_ms, 1), service_ms=round(plain_ms, 1),
            service_sql=plain_sql, filtered_ms=round(filtered_ms, 1), filtered_sql=filtered_sql)
        if page:
            page_ms, page_sql = timed(page_rerun(rt), repeat)
            result.update(page_ms=round(page_ms, 1), page_sql=page_sql)
        return result
    finally:
        os.environ.clear()
        os.environ.update(environ)
        rt.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-page", action="store_true", help="measure the service only, not the AppTest rerun")
    args = parser.parse_args()
    figures = run(users=args.users, repeat=args.repeat, database_url=args.database_url, page=not args.no_page)
    for name, value in figures.items():
        print(f"{name:>14}: {value}")


if __name__ == "__main__":
    main()
