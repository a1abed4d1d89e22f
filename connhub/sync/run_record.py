"""What a running sync run writes to its row: phase, progress, counts and outcome, as it goes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from connhub.db import retry_while_locked, write_locked
from connhub.journal import hooks as journal_hooks
from connhub.models import SyncRun, SyncRunState, utcnow
from connhub.sync import texts
from connhub.sync.runs import COUNTS, RunView, view

FAILURES_KEPT = 500  # the failure list keeps this many (the count keeps them all)


class RunClosed(Exception):
    """The run's record was closed by someone else (declared abandoned): this process must stop."""

    def __init__(self, run_id: int, state: str) -> None:
        super().__init__(f"sync run {run_id} was closed ({state}) while this process was running it")


@dataclass
class RunRecorder:
    """What one run has done so far, written to its row at each phase and batch."""

    sessions: sessionmaker[Session]
    run_id: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    failures: list[dict[str, str]] = field(default_factory=list)
    total: int = 0
    done: int = 0
    phase: str = ""
    requests: int = 0
    plan: dict[str, Any] = field(default_factory=dict)
    step: str = ""  # a measured step («Фото товаров»): the row's phase reads «… (done из total), осталось около …»
    _clock: tuple[float, int] = (0.0, 0)  # when the step started and its `done` then

    def progress(self, step: str, done: int, total: int, *, save: bool = True) -> None:
        """A step's progress (issue 17): done of total, and the time left estimated from its pace."""
        if step != self.step or done < self._clock[1]:
            self.step, self._clock = step, (time.monotonic(), done)
        self.phase, self.done, self.total = step, done, total
        if save:
            self.save()

    def end_step(self) -> None:
        self.step = ""

    def left_seconds(self) -> float | None:
        """The time the step still needs at its pace so far; None before anything is done."""
        started, first = self._clock
        done = self.done - first
        if not self.step or done <= 0 or self.total <= self.done:
            return None
        return (time.monotonic() - started) / done * (self.total - self.done)

    def phase_line(self) -> str:
        if not self.step:
            return self.phase
        return texts.progress_line(self.phase, self.done, self.total, self.left_seconds())

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def fail(self, product_id: str, name: str, reason: str) -> None:
        self.counts["failed"] += 1
        if len(self.failures) < FAILURES_KEPT:
            self.failures.append({"product_id": product_id, "name": name, "reason": reason[:300]})

    def save(self, **extra: Any) -> None:
        retry_while_locked(lambda: self._save(extra))

    def _save(self, extra: dict[str, Any]) -> None:
        with write_locked(self.sessions) as session:
            row = session.get(SyncRun, self.run_id)
            if row is None:
                return
            if row.state != SyncRunState.RUNNING:  # closed as abandoned meanwhile: what it says stays
                if "state" in extra:
                    return
                raise RunClosed(self.run_id, row.state)
            for name, value in self.counts.items():
                setattr(row, name, value)
            row.failures = list(self.failures)
            row.total, row.done, row.phase, row.requests = self.total, self.done, self.phase_line()[:200], self.requests
            row.plan = dict(self.plan)
            row.heartbeat_at = utcnow()
            for key, value in extra.items():
                setattr(row, key, value)
            if "finished_at" in extra:
                journal_hooks.run_ended(session, row)  # lane notify: the journal and its notices
            session.commit()

    def finish(self, state: str, stop_reason: str = "") -> RunView:
        now = utcnow()
        with self.sessions() as session:
            row = session.get(SyncRun, self.run_id)
            started = (row.started_at if row is not None else None) or now
        duration = max(0, int((now - started).total_seconds() * 1000))
        self.save(state=state, stop_reason=stop_reason[:500], finished_at=now, duration_ms=duration)
        with self.sessions() as session:
            row = session.get(SyncRun, self.run_id)
            assert row is not None
            return view(row)
