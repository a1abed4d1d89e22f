"""The sidecar's workers: each does one kind of work, behind one interface.

`checker.py` holds a list of workers and calls each one's `tick` every `every` seconds from its
`schedule` loop; `checker.py --once` calls each one's `run_once`; at the end it `join`s them.
A tick never raises and never blocks the loop for long work: `BackgroundWorker` starts a thread
when there is work and none of its threads is running; `InlineWorker` does short work (the
health cycle, housekeeping) in the loop itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)


@runtime_checkable
class Worker(Protocol):
    """One kind of the sidecar's work."""

    name: str
    every: int  # seconds between ticks

    def tick(self) -> None:
        """Start what is due, without blocking the loop and without raising."""

    def run_once(self) -> object:
        """Do what is due now, in this thread, then return (`checker.py --once`)."""

    def join(self, timeout: float | None = None) -> None:
        """Wait for work this worker started in the background."""


class InlineWorker:
    """Short work done in the loop's own thread (a failure is logged; the next tick retries)."""

    def __init__(self, name: str, every: int, work: Callable[[], object]) -> None:
        self.name = name
        self.every = every
        self._work = work

    def tick(self) -> None:
        try:
            self._work()
        except Exception:  # a bad tick must not kill the loop
            log.exception("%s: tick failed", self.name)

    def run_once(self) -> object:
        return self._work()

    def join(self, timeout: float | None = None) -> None:
        return None


class BackgroundWorker:
    """Long work in one background thread at a time: `has_work` is asked on each tick, and when
    it says yes and no thread is running, a thread runs `work` once (which drains the queue)."""

    def __init__(self, name: str, every: int, *, has_work: Callable[[], bool], work: Callable[[], object],
                 before_tick: Callable[[], object] | None = None) -> None:
        self.name = name
        self.every = every
        self._has_work = has_work
        self._work = work
        self._before_tick = before_tick
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def tick(self) -> None:
        try:
            if self._before_tick is not None:
                self._before_tick()
        except Exception:
            log.exception("%s: tick failed", self.name)
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

    def run_once(self) -> object:
        if self._before_tick is not None:
            self._before_tick()
        return self._work()

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
