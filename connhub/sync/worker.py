"""The sidecar's side of «Синхронизировать сейчас»: runs requested on the page start here.

`checker.py` calls `SyncWorker.tick` every few seconds. A tick never blocks the loop: when a
run is waiting and none is running in this process, it starts a thread that runs them.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select

from connhub.models import SyncRun, SyncRunState
from connhub.runtime import Runtime
from connhub.sync.service import run_requested

log = logging.getLogger(__name__)

SYNC_TICK_SECONDS = 2  # a click on «Синхронизировать сейчас» starts within this


class SyncWorker:
    def __init__(self, rt: Runtime, stop: threading.Event) -> None:
        self.rt = rt
        self.stop = stop
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _has_work(self) -> bool:
        with self.rt.sessions() as session:
            return session.scalar(select(SyncRun.id).where(SyncRun.state == SyncRunState.REQUESTED).limit(1)) \
                is not None

    def tick(self) -> None:
        try:
            with self._lock:
                if self._thread is not None and self._thread.is_alive():
                    return
                if not self._has_work():
                    return
                self._thread = threading.Thread(target=self._run, name="sync-runs", daemon=True)
                self._thread.start()
        except Exception:  # a bad tick must not kill the checker's loop
            log.exception("sync tick failed")

    def _run(self) -> None:
        try:
            run_requested(self.rt, should_stop=self.stop.is_set)
        except Exception:
            log.exception("sync thread failed")

    def run_once(self) -> None:
        run_requested(self.rt, should_stop=self.stop.is_set)

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
