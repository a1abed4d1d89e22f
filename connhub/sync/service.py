"""Starting sync runs: for one user now (the script), or the runs requested on the page (the sidecar)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from connhub.models import SyncRunState
from connhub.runtime import Runtime
from connhub.sync import runs
from connhub.sync.engine import Outcome, SyncEngine
from connhub.sync.runs import RunRecorder, RunView

log = logging.getLogger(__name__)


def run_now(rt: Runtime, user_id: int, *, trigger: str, triggered_by: str, dry_run: bool = False,
            say: Callable[[str], None] = lambda line: None, run_id: int | None = None,
            **engine_options: object) -> tuple[RunView, Outcome]:
    """Run the sync for one user in this process; RunInProgress when another run is active."""
    with runs.start_run(rt.sessions, user_id, trigger=trigger, triggered_by=triggered_by, dry_run=dry_run,
                        run_id=run_id, lease=runs.lease_of(rt.settings)) as active:
        run = active.run
        recorder = RunRecorder(rt.sessions, run.id)
        engine = SyncEngine(rt, user_id, recorder, dry_run=run.dry_run, say=say, **engine_options)  # type: ignore[arg-type]
        outcome = engine.run()
    return run, outcome


def _log_line(run_id: int, line: str) -> None:
    log.info("sync run %s: %s", run_id, line)


def run_requested(rt: Runtime, *, should_stop: Callable[[], bool] = lambda: False) -> list[Outcome]:
    """Claim and run every run requested on the page, oldest first."""
    done: list[Outcome] = []
    while not should_stop():
        active = runs.claim_requested(rt.sessions, lease=runs.lease_of(rt.settings))
        if active is None:
            break
        with active:
            run = active.run
            recorder = RunRecorder(rt.sessions, run.id)
            engine = SyncEngine(rt, run.user_id, recorder, dry_run=run.dry_run, say=partial(_log_line, run.id))
            try:
                done.append(engine.run())
            except Exception:  # recorded as failed by the engine; the next request goes on
                log.exception("sync run %s failed", run.id)
    return done


__all__ = ["SyncRunState", "run_now", "run_requested"]
