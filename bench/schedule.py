"""Benchmark the sync's schedule: lateness (due moment → start) over N scheduled runs.

    python bench/schedule.py [--runs 30] [--products 20] [--minute-seconds 0.02] [--database-url URL]

One user seeded as bench/sync.py seeds it (no photos), the schedule «every 15 min» — the shortest
interval — with `SYNC_SCHEDULE_MINUTE_SECONDS` shortening a minute (0,02 s: 15 min → 0,3 s). The
sidecar's sync worker is ticked in this process as checker.py ticks it (every
`SYNC_TICK_SECONDS`); each scheduled run's lateness is its `started_at` minus its `requested_at`
(the due moment). Nothing else runs, so the figure is the schedule's own: the tick period plus
the claim.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.checker import start_sandbox, stop_sandbox  # noqa: E402
from bench.sync import seed  # noqa: E402
from connhub.models import Base, SyncRun  # noqa: E402
from connhub.providers.vk.sandbox import GoodsControl  # noqa: E402
from connhub.runtime import Runtime, emulations, load_settings  # noqa: E402
from connhub.sandbox import sandbox_env  # noqa: E402
from connhub.sync import runs, schedule, service  # noqa: E402
from connhub.sync.worker import SYNC_TICK_SECONDS, sync_worker  # noqa: E402

DEADLINE_SECONDS = 600.0


def scheduled(rt: Runtime) -> list[SyncRun]:
    with rt.sessions() as session:
        return list(session.scalars(select(SyncRun).where(SyncRun.trigger == runs.Trigger.SCHEDULE,
                                                          SyncRun.started_at.is_not(None))
                                    .order_by(SyncRun.id)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--minute-seconds", type=float, default=0.02)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    sandbox, base_url = start_sandbox(0)
    workdir = Path(tempfile.mkdtemp(prefix="connhub-bench-schedule-"))
    try:
        settings = load_settings(_env_file=None, DATABASE_URL=args.database_url or f"sqlite:///{workdir}/bench.db",
                                 CONNHUB_SECRET_KEY=Fernet.generate_key().decode(), CONNHUB_DATA_DIR=workdir,
                                 CATALOG_REFRESH_INTERVAL_SECONDS=7 * 24 * 3600,
                                 SYNC_SCHEDULE_MINUTE_SECONDS=args.minute_seconds,
                                 **sandbox_env(base_url, emulations()))
        rt = Runtime.from_settings(settings)
        Base.metadata.create_all(rt.engine)
        token = GoodsControl(base_url).user_token(("groups", "market", "photos"))
        user_id, _snapshot = seed(rt, token, args.products)
        shortest = schedule.Schedule(schedule.EVERY, min(schedule.INTERVALS))
        service.save_schedule(rt, user_id, shortest)
        interval = schedule.period(shortest, schedule.minute_of(rt.settings))
        assert interval is not None

        worker = sync_worker(rt, threading.Event())
        deadline = time.monotonic() + DEADLINE_SECONDS
        while len(scheduled(rt)) < args.runs:
            if time.monotonic() > deadline:
                print(f"only {len(scheduled(rt))} scheduled runs started within {DEADLINE_SECONDS:.0f} s")
                return 1
            worker.tick()
            time.sleep(SYNC_TICK_SECONDS)  # the checker's own tick period: what the figure is about
        worker.join(60)
        started = scheduled(rt)[:args.runs]
        late = [(run.started_at - run.requested_at).total_seconds() for run in started if run.started_at]
        states = {run.state for run in scheduled(rt)[:args.runs]}
        print(f"{len(late)} scheduled runs every {interval.total_seconds():.2f} s (every 15 min at "
              f"{args.minute_seconds} s a minute), sidecar tick {SYNC_TICK_SECONDS} s, {rt.engine.dialect.name}: "
              f"lateness due → start median {statistics.median(late):.2f} s, max {max(late):.2f} s, "
              f"min {min(late):.2f} s; outcomes {sorted(states)}")
        rt.close()
        return 0
    finally:
        stop_sandbox(sandbox, workdir)


if __name__ == "__main__":
    sys.exit(main())
