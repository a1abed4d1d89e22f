"""connhub's sidecar: checks every connection's health on a schedule.

    python checker.py           # run until SIGTERM / Ctrl-C
    python checker.py --once    # one cycle over every due connection, then exit (1 if it failed)
    python checker.py --catalog-once   # run the catalog refreshes that are due or requested, then exit

Each tick (a `schedule` job) runs `connhub.health.run_cycle`: it claims the connections whose
next check is due, checks them on a bounded thread pool and writes the results; each result
reschedules its connection one interval (with jitter) later, or sooner after provider
trouble, so the checks spread over the interval. Several checkers may share one PostgreSQL
database: claims are leases, so no connection is checked twice. The checker records a
heartbeat after each tick, which the dashboard shows. Every 2 s it also looks for catalog
refreshes (scheduled every CATALOG_REFRESH_INTERVAL_SECONDS, or asked for on the «Каталог» page)
and runs them in one background thread (connhub.catalog.worker), so checks never wait on a load.

A stop signal ends the loop between writes: in-flight checks finish and are written, claimed
but unstarted ones are released.

Started while the database is down, the checker waits for it with backoff (1, 2, 4 ... 30 s),
logging each attempt; `--once` gives up after ONCE_ATTEMPTS. A SQLite file deleted or replaced
under the running checker is reported and the checker stops rather than write into it.

Exit codes: 0 done (or stopped by a signal); 1 `--once` whose cycle failed or whose database
never answered; 2 bad configuration; 3 the SQLite file was deleted or replaced.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading

import schedule
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from connhub.catalog.worker import CATALOG_TICK_SECONDS, CatalogWorker
from connhub.config import ConfigError, Settings, load_settings
from connhub.db import file_identity, sqlite_file, sqlite_file_problem
from connhub.health import beat, prune_history, run_cycle
from connhub.health.history import HistoryWorker
from connhub.models import utcnow
from connhub.oauth import prune_flows
from connhub.runtime import Runtime
from connhub.sync.worker import SYNC_TICK_SECONDS, SyncWorker

log = logging.getLogger("connhub.checker")

ONCE_ATTEMPTS = 5  # --once waits 1 + 2 + 4 + 8 s for the database, then gives up
EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_DATABASE_FILE = 0, 1, 2, 3


def tick_seconds(interval: int) -> int:
    """How often to look for due connections: often enough that retries land on time."""
    return max(1, min(30, interval // 20))


def backoff_seconds(attempt: int) -> int:
    return min(30, 1 << max(0, attempt - 1))


def describe_db_error(exc: DBAPIError) -> str:
    """One short line about a database error (the driver's first line; never the URL's password)."""
    original = exc.orig if exc.orig is not None else exc
    first = (str(original).strip().splitlines() or [""])[0]
    return f"{type(original).__name__}: {first[:200]}"


def open_runtime(settings: Settings, *, stop: threading.Event, attempts: int | None) -> Runtime | None:
    """The runtime, once the database answers; None if stopped meanwhile or out of attempts.

    ConfigError (a bad setting, a missing key file over sealed data) is raised at once."""
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    attempt = 0
    while True:
        attempt += 1
        rt = None
        try:
            rt = Runtime.from_settings(settings)
            with rt.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            if attempt > 1:
                log.info("database %s is reachable after %d attempts", where, attempt)
            return rt
        except DBAPIError as exc:
            if rt is not None:
                rt.close()
            if attempts is not None and attempt >= attempts:
                log.error("database %s is not reachable (attempt %d of %d): %s; giving up", where, attempt,
                          attempts, describe_db_error(exc))
                return None
            delay = backoff_seconds(attempt)
            log.warning("database %s is not reachable (attempt %d): %s; retrying in %ds", where, attempt,
                        describe_db_error(exc), delay)
            if stop.wait(delay):
                return None


class Checker:
    def __init__(self, rt: Runtime, *, checker_id: str | None = None, stop: threading.Event | None = None) -> None:
        self.rt = rt
        self.checker_id = checker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.started_at = utcnow()
        self.stop = stop or threading.Event()
        self.catalog = CatalogWorker(rt, self.checker_id, self.stop)  # catalog refreshes, in their own thread
        self.sync = SyncWorker(rt, self.stop)  # sync runs requested on the page, in their own thread
        self.history = HistoryWorker(rt, self.stop)  # hourly and daily rollups of the checks, in their own thread
        self.exit_code = EXIT_OK
        self.database_file = sqlite_file(rt.engine)
        self.database_identity = file_identity(self.database_file) if self.database_file else None

    def database_file_is_ours(self) -> bool:
        """False (and the checker stops) once the SQLite file was deleted or replaced."""
        if self.database_file is None:
            return True
        problem = sqlite_file_problem(self.database_file, self.database_identity)
        if problem is None:
            return True
        log.error("%s; stopping without writing to it. Restore the file (or point DATABASE_URL at the right one) "
                  "and restart connhub (the app and the checker).", problem)
        self.exit_code = EXIT_DATABASE_FILE
        self.stop.set()
        return False

    def tick(self) -> bool:
        """One cycle; False when it failed (logged)."""
        if not self.database_file_is_ours():
            return False
        try:
            stats = run_cycle(self.rt, worker_id=self.checker_id, stop=self.stop)
            if stats.checked:
                counts = ", ".join(f"{name}={count}" for name, count in sorted(stats.by_status.items()))
                log.info("cycle: checked=%d written=%d dropped=%d deferred=%d [%s] in %.2fs",
                         stats.checked, stats.written, stats.dropped, stats.deferred, counts or "-",
                         stats.duration_s)
            beat(self.rt, checker_id=self.checker_id, started_at=self.started_at, last_cycle=stats.as_dict())
        except DBAPIError as exc:  # one bad tick must not kill the loop; the next one retries
            log.error("cycle failed: database error: %s", describe_db_error(exc))
            return False
        except Exception:
            log.exception("cycle failed")
            return False
        return True

    def housekeeping(self) -> None:
        if self.stop.is_set() or not self.database_file_is_ours():
            return
        try:
            flows, records = prune_flows(self.rt), prune_history(self.rt)
            if flows or records:
                log.info("housekeeping: removed %d old oauth flows, %d old check records", flows, records)
        except Exception:
            log.exception("housekeeping failed")

    def run_forever(self) -> None:
        interval = self.rt.settings.HEALTH_CHECK_INTERVAL_SECONDS
        every = tick_seconds(interval)
        log.info("checker %s started: interval=%ss tick=%ss concurrency=%d database=%s", self.checker_id,
                 interval, every, self.rt.settings.CHECKER_CONCURRENCY, self.rt.engine.url.render_as_string())
        try:
            beat(self.rt, checker_id=self.checker_id, started_at=self.started_at)
        except DBAPIError as exc:  # the first tick retries it
            log.error("heartbeat failed: database error: %s", describe_db_error(exc))
        jobs = schedule.Scheduler()
        jobs.every(every).seconds.do(self.tick)
        jobs.every(1).hours.do(self.housekeeping)
        jobs.every(CATALOG_TICK_SECONDS).seconds.do(self.catalog.tick)
        jobs.every(SYNC_TICK_SECONDS).seconds.do(self.sync.tick)
        jobs.every(self.history.every).seconds.do(self.history.tick)
        self.housekeeping()
        self.tick()
        while not self.stop.is_set():
            jobs.run_pending()
            idle = jobs.idle_seconds
            self.stop.wait(timeout=max(0.05, idle if idle is not None else every))
        self.catalog.join()
        self.sync.join()
        self.history.join()
        log.info("checker %s stopped", self.checker_id)

    def run_once(self) -> bool:
        log.info("checker %s: one cycle", self.checker_id)
        ok = self.tick()
        try:
            self.history.run_once()  # the rollups this cycle's checks belong to
        except Exception:  # noqa: BLE001 - logged; the cycle's own outcome decides the exit code
            log.exception("history roll-up failed")
        self.housekeeping()
        return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check the health of every connhub connection.")
    parser.add_argument("--once", action="store_true", help="run one cycle over all due connections and exit")
    parser.add_argument("--catalog-once", action="store_true",
                        help="queue the catalog refreshes that are due, run every queued one, and exit")
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping after in-flight checks are written", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        rt = open_runtime(load_settings(), stop=stop, attempts=ONCE_ATTEMPTS if args.once else None)
    except ConfigError as exc:
        log.error("%s", exc)
        return EXIT_CONFIG
    if rt is None:
        return EXIT_OK if stop.is_set() else EXIT_FAILED
    checker = Checker(rt, stop=stop)
    try:
        if args.catalog_once:
            checker.catalog.run_once()
            return checker.exit_code
        if args.once:
            ok = checker.run_once()
            return checker.exit_code or (EXIT_OK if ok else EXIT_FAILED)
        checker.run_forever()
        return checker.exit_code
    finally:
        rt.close()


if __name__ == "__main__":
    sys.exit(main())
