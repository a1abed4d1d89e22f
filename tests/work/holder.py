"""A real connhub process the work tests drive (run as `python -m tests.work.holder MODE ...`).

    race USER_ID DIR      trial n: when DIR/go-n appears, try to start a run of the user; print
                          "started n" or "busy n"; the winner finishes when DIR/release-n appears
                          ("done n"); ends when DIR/stop appears
    sync EMAIL PHASE DIR  `python -m connhub.sync --user EMAIL` whose engine holds at PHASE (a phase
                          text's start, or a checkpoint name) after printing "held", until
                          DIR/release appears (or the process is killed)
    claim DIR             when DIR/go appears, claim catalog refresh jobs until none is left, printing
                          "claimed ID" for each; then "end"

Waiting for a file is polled: these are barriers between processes, and the files are the signal.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from connhub.runtime import Runtime

DEADLINE_SECONDS = 120.0


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {path}")
        time.sleep(0.001)


def say(line: str) -> None:
    print(line, flush=True)


def race(user_id: int, where: Path) -> int:
    from connhub.models import SyncRunState
    from connhub.sync import run_record, runs

    rt = Runtime.from_settings()
    n = 0
    while True:
        n += 1
        go = where / f"go-{n}"
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not go.exists():
            if (where / "stop").exists():
                return 0
            if time.monotonic() > deadline:
                return 1
            time.sleep(0.001)
        try:
            active = runs.start_run(rt.sessions, user_id, trigger=runs.Trigger.CLI, triggered_by=f"trial {n}",
                                    lease=runs.lease_of(rt.settings))
        except runs.RunInProgress:
            say(f"busy {n}")
            continue
        say(f"started {n}")
        wait_for(where / f"release-{n}")
        with active:
            run_record.RunRecorder(rt.sessions, active.id).finish(SyncRunState.FINISHED)
        say(f"done {n}")


def sync(email: str, phase: str, where: Path) -> int:
    from connhub.sync import __main__ as cli
    from connhub.sync.engine import SyncEngine

    def hold(name: str) -> None:
        if name.startswith(phase):
            say(f"held {name}")
            wait_for(where / "release")

    original = SyncEngine._phase

    def phase_then_hold(self: SyncEngine, text: str) -> None:
        original(self, text)
        hold(text)

    SyncEngine._phase = phase_then_hold  # type: ignore[method-assign]
    return cli.main(["--user", email], checkpoint=hold)


def claim(where: Path) -> int:
    from connhub.catalog import refresh
    from connhub.sync.runs import worker_id

    rt = Runtime.from_settings()
    wait_for(where / "go")
    while (job := refresh.claim_next(rt.sessions, worker_id())) is not None:
        say(f"claimed {job.id}")
    say("end")
    return 0


def main(argv: list[str]) -> int:
    mode, *args = argv
    if mode == "race":
        return race(int(args[0]), Path(args[1]))
    if mode == "sync":
        return sync(args[0], args[1], Path(args[2]))
    if mode == "claim":
        return claim(Path(args[0]))
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
