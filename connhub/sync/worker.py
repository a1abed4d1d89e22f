"""The sidecar's side of «Синхронизировать сейчас»: runs requested on the page start here.

`checker.py` calls `SyncWorker.tick` every few seconds. A tick never blocks the loop: when a
run is waiting and none is running in this process, it starts a thread that runs them.
"""

from __future__ import annotations

import threading

from sqlalchemy import select

from connhub.background import BackgroundRunner
from connhub.models import SyncRun, SyncRunState
from connhub.runtime import Runtime
from connhub.sync.service import run_requested

SYNC_TICK_SECONDS = 2  # a click on «Синхронизировать сейчас» starts within this


class SyncWorker:
    def __init__(self, rt: Runtime, stop: threading.Event) -> None:
        self.rt = rt
        self.stop = stop
        self._runner = BackgroundRunner("sync-runs", has_work=self._has_work, work=self.run_once)

    def _has_work(self) -> bool:
        with self.rt.sessions() as session:
            return session.scalar(select(SyncRun.id).where(SyncRun.state == SyncRunState.REQUESTED).limit(1)) \
                is not None

    def tick(self) -> None:
        self._runner.tick()

    def run_once(self) -> None:
        run_requested(self.rt, should_stop=self.stop.is_set)

    def join(self, timeout: float | None = None) -> None:
        self._runner.join(timeout)
