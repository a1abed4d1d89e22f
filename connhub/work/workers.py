"""The sidecar's workers: each does one kind of work, behind one interface.

`checker.py` holds a list of workers and calls each one's `tick` every `every` seconds from its
`schedule` loop; `checker.py --once` calls each one's `run_once`; at the end it `join`s them.
A tick never raises and never blocks the loop for long work: `BackgroundWorker` starts threads
(up to its concurrency) when there is work; `InlineWorker` does short work (the
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
    """Long work in a bounded pool of background threads: `has_work` is asked on each tick, and
    while it says yes and fewer than `concurrency` threads run, a thread runs `work` once (which
    claims and drains the queue; the claims make sure no two threads take one item)."""

    def __init__(self, name: str, every: int, *, has_work: Callable[[], bool], work: Callable[[], object],
                 before_tick: Callable[[], object] | None = None, concurrency: int = 1,
                 waiting: Callable[[], int] | None = None) -> None:
        self.name = name
        self.every = every
        self.concurrency = max(1, concurrency)
        self._has_work = has_work
        self._waiting = waiting
        self._work = work
        self._before_tick = before_tick
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def tick(self) -> None:
        try:
            if self._before_tick is not None:
                self._before_tick()
        except Exception:
            log.exception("%s: tick failed", self.name)
        try:
            with self._lock:
                self._threads = [thread for thread in self._threads if thread.is_alive()]
                free = self.concurrency - len(self._threads)
                if free <= 0 or not self._has_work():
                    return
                wanted = min(free, self._waiting()) if self._waiting is not None else 1
                for _ in range(max(1, wanted)):
                    thread = threading.Thread(target=self._run, name=f"{self.name}-{len(self._threads) + 1}",
                                              daemon=True)
                    self._threads.append(thread)
                    thread.start()
        except Exception:  # a bad tick must not kill the checker's loop
            log.exception("%s: tick failed", self.name)

    def _run(self) -> None:
        try:
            self._work()
        except Exception:
            log.exception("%s: background work failed", self.name)

    def run_once(self) -> list[object]:
        """Do what is queued now, on up to `concurrency` threads, and wait for them (`--once`); with
        nothing queued, nothing runs (so nothing heavy is imported for it)."""
        if self._before_tick is not None:
            self._before_tick()
        return self.run_pool()

    def run_pool(self) -> list[object]:
        """What is queued now, on up to `concurrency` threads (nothing when nothing is queued)."""
        if not self._has_work():
            return []
        wanted = min(self.concurrency, self._waiting()) if self._waiting is not None else 1
        results: list[object] = []
        if wanted <= 1:
            results.append(self._work())
        else:
            threads = [threading.Thread(target=lambda: results.append(self._work()), name=f"{self.name}-once-{n}",
                                        daemon=True) for n in range(wanted)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        merged: list[object] = []
        for result in results:
            merged.extend(result if isinstance(result, list) else [result])
        return merged

    def running(self) -> int:
        """How many of this worker's threads are running now."""
        with self._lock:
            return sum(thread.is_alive() for thread in self._threads)

    def join(self, timeout: float | None = None) -> None:
        for thread in list(self._threads):
            thread.join(timeout)
