"""The sidecar's side of «Синхронизировать сейчас»: runs requested on the page start here.

`checker.py` ticks `sync_worker` every few seconds. A tick closes runs whose process died
(`runs.close_all_abandoned`, so no start waits for a dead run), queues the runs whose schedule
is due (`schedule.queue_due`: requested runs, trigger «по расписанию») and, while runs are waiting,
starts threads (at most SYNC_CONCURRENCY in this process) that claim and run them: different
users' runs go on in parallel, one user's runs one at a time (the user's lock and the unique index
on active runs), and no run is claimed twice across sidecars (`connhub.work.claims`).
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from connhub.models import SyncRun, SyncRunState
from connhub.runtime import Runtime
from connhub.sync import runs, schedule
from connhub.work.workers import BackgroundWorker

SYNC_TICK_SECONDS = 2  # a click on «Синхронизировать сейчас» starts within this


def sync_worker(rt: Runtime, stop: threading.Event, **engine_options: object) -> BackgroundWorker:
    def has_work() -> bool:
        with rt.sessions() as session:
            return session.scalar(select(SyncRun.id).where(SyncRun.state == SyncRunState.REQUESTED).limit(1)) \
                is not None

    def waiting() -> int:
        with rt.sessions() as session:
            return session.scalar(select(func.count(func.distinct(SyncRun.user_id)))
                                  .where(SyncRun.state == SyncRunState.REQUESTED)) or 0

    def sweep() -> None:
        runs.close_all_abandoned(rt.sessions, lease=runs.lease_of(rt.settings))
        schedule.queue_due(rt.sessions, rt.settings)  # due schedules become requested runs, claimed below

    def work() -> object:
        from connhub.sync.service import run_requested  # the engine's imports only when a run is asked for

        return run_requested(rt, should_stop=stop.is_set, **engine_options)

    return BackgroundWorker("sync", SYNC_TICK_SECONDS, has_work=has_work, work=work, before_tick=sweep,
                            concurrency=rt.settings.SYNC_CONCURRENCY, waiting=waiting)
