"""One piece of long work at a time in a background thread, started from the checker's loop.

`checker.py` ticks each runner from its `schedule` loop every few seconds. A tick never blocks the
loop and never raises: when the runner's `has_work` says there is work and its thread is not
already running, it starts the thread, which runs `work` once (and `work` drains what is queued).
The catalog refreshes and the requested sync runs each have one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class BackgroundRunner:
    def __init__(self, name: str, *, has_work: Callable[[], bool], work: Callable[[], object]) -> None:
        self.name = name
        self._has_work = has_work
        self._work = work
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def tick(self) -> None:
        try:
            with self._lock:
                if self._thread is not None and self._thread.is_alive():
                    return
                if not self._has_work():
                    return
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        except Exception:  # a bad tick must not kill the checker's loop
            log.exception("%s: tick failed", self.name)

    def _run(self) -> None:
        try:
            self._work()
        except Exception:
            log.exception("%s: background work failed", self.name)

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
