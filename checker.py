"""connhub's sidecar: health checks, catalog refreshes, sync runs and notices, as a list of workers.

    python checker.py           # run until SIGTERM / Ctrl-C
    python checker.py --once    # each worker once: health cycle, due/requested catalog refreshes,
                                # requested sync runs, notices; then exit (1 if the health cycle failed)
    python checker.py --catalog-once   # run the catalog refreshes that are due or requested, then exit

The sidecar is a list of workers with one interface (`connhub.work.workers.Worker`: tick, run
once, join), each ticked from one `schedule` loop:

- **health** (`connhub.health.run_cycle`, in the loop): claims the connections whose next check
  is due, checks them on a bounded thread pool and writes the results; each result reschedules
  its connection one interval (with jitter) later, or sooner after provider trouble. The checker
  records a heartbeat after each cycle, which the dashboard shows.
- **catalog** (`connhub.catalog.worker`, every 2 s, on up to CATALOG_CONCURRENCY threads): queues
  the scheduled refreshes (every CATALOG_REFRESH_INTERVAL_SECONDS) and runs the queued ones, so
  checks never wait on a load.
- **sync** (`connhub.sync.worker`, every 2 s, on up to SYNC_CONCURRENCY threads): closes sync runs
  whose process died and runs the requested ones, different users' at once, one user's one at a
  time; several sidecars share the queue and never take one run twice.
- **orders** (`connhub.orders.worker`, every minute, in its own thread): polls the chosen VK
  community's orders every 5 minutes; a new one is a journal event and a notice.
- **notify** (`connhub.notify.sender`, every 2 s, in its own thread): sends the outbox's notices
  (claimed once across sidecars, retried with backoff), writes reminders and «устарела».
- **housekeeping** (hourly, in the loop): old OAuth flows and check records.

Every claim goes through `connhub.work.claims` (SKIP LOCKED on PostgreSQL, leases renewed by
time, locks that die with their process), so several checkers may share one PostgreSQL database
and never take one connection, job or run twice. Nothing heavy (pandas, Pillow) is imported on
the health path: the sync's engine is imported when a run is asked for.

A stop signal ends the loop between writes: in-flight checks finish and are written, claimed
but unstarted ones are released. Sync runs and catalog refreshes (SYNC_CONCURRENCY and
CATALOG_CONCURRENCY at once, each in its own thread) get STOP_GRACE_SECONDS; one still going then
ends with the process, its lock freed, and the next run continues from where it stopped.

Started while the database is down, the checker waits for it with backoff (1, 2, 4 ... 30 s),
logging each attempt; `--once` gives up after ONCE_ATTEMPTS. A SQLite file deleted or replaced
under the running checker is reported and the checker stops rather than write into it.

Exit codes: 0 done (or stopped by a signal); 1 `--once` whose cycle failed or whose database
never answered; 2 bad configuration; 3 the SQLite file was deleted or replaced.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import socket
import sys
import threading
import time

import schedule
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from connhub import metrics
from connhub.catalog.worker import CatalogWorker
from connhub.config import ConfigError, Settings
from connhub.db import file_identity, sqlite_file, sqlite_file_problem
from connhub.health import beat, prune_history, run_cycle
from connhub.health.history import HistoryWorker
from connhub.models import utcnow
from connhub.notify.sender import NotifyWorker
from connhub.oauth import prune_flows
from connhub.observe.exporter import serve as serve_metrics
from connhub.orders.worker import orders_worker
from connhub.runtime import Runtime, load_settings
from connhub.sync.worker import sync_worker
from connhub.work.workers import InlineWorker, Worker

log = logging.getLogger("connhub.checker")

STOP_GRACE_SECONDS = 5.0  # after a stop signal, in-flight work gets this long; a sync run cut short resumes
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
        self.sync = sync_worker(rt, self.stop)  # sync runs requested on the page, in their own thread
        self.health = InlineWorker("health", tick_seconds(rt.settings.HEALTH_CHECK_INTERVAL_SECONDS), self.tick)
        self.housekeeper = InlineWorker("housekeeping", 3600, self.housekeeping)
        self.notify = NotifyWorker(rt, self.checker_id, self.stop)  # the outbox's notices, in their own thread
        self.history = HistoryWorker(rt, self.stop)  # hourly and daily rollups of the checks, in their own thread
        self.orders = orders_worker(rt, self.stop)  # buyers' orders in the VK community, in their own thread
        self.workers: list[Worker] = [self.health, self.history, self.catalog, self.sync, self.orders,
                                      self.notify, self.housekeeper]
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
                log.info("cycle: checked=%d written=%d dropped=%d deferred=%d [%s] in %.2fs (cpu %.2fs)",
                         stats.checked, stats.written, stats.dropped, stats.deferred, counts or "-",
                         stats.duration_s, stats.cpu_s)
            metrics.cycle_finished(stats.duration_s, stats.checked)
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
        log.info("checker %s started: interval=%ss tick=%ss concurrency=%d workers=%s database=%s",
                 self.checker_id, interval, self.health.every, self.rt.settings.CHECKER_CONCURRENCY,
                 ",".join(worker.name for worker in self.workers), self.rt.engine.url.render_as_string())
        try:
            beat(self.rt, checker_id=self.checker_id, started_at=self.started_at)
        except DBAPIError as exc:  # the first tick retries it
            log.error("heartbeat failed: database error: %s", describe_db_error(exc))
        jobs = schedule.Scheduler()
        for worker in self.workers:
            jobs.every(worker.every).seconds.do(worker.tick)
        self.housekeeper.tick()
        self.health.tick()
        while not self.stop.is_set():
            jobs.run_pending()
            idle = jobs.idle_seconds
            self.stop.wait(timeout=max(0.05, idle if idle is not None else self.health.every))
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in self.workers:  # sync runs and refreshes still going are left to resume: their
            worker.join(max(0.0, deadline - time.monotonic()))  # locks die with this process
        log.info("checker %s stopped", self.checker_id)

    def run_once(self) -> bool:
        """Each worker once, in this thread: health, catalog, sync, housekeeping, then the notices
        all of them caused."""
        log.info("checker %s: each worker once", self.checker_id)
        ok = self.tick()
        # history: the rollups this cycle's checks belong to
        for worker in (self.history, self.catalog, self.sync, self.orders):
            if self.stop.is_set():
                break
            try:
                worker.run_once()
            except Exception:  # noqa: BLE001 - one worker's failure is logged; the others still run
                log.exception("%s failed", worker.name)
        self.housekeeping()
        try:
            self.notify.run_once()  # the notices this cycle caused, and any due before it
        except Exception:  # noqa: BLE001 - logged like any other worker's failure
            log.exception("%s failed", self.notify.name)
        return ok


MALLOC_ARENAS = 2  # glibc's default is 8 per core; each of the checks' threads would fill one of its own


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (what `MALLOC_ARENA_MAX` does), before any thread starts: with a
    pool of check threads, memory freed in one thread's arena is not reused by the others, and the
    checker's peak grows with the threads rather than with the work. False where malloc is not glibc's."""
    if not sys.platform.startswith("linux") or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # musl or another libc: nothing to cap
        return False


M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def main(argv: list[str] | None = None) -> int:
    limit_malloc_arenas()
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
    exporter = None
    if rt.settings.METRICS_PORT and not (args.once or args.catalog_once):  # Prometheus, issue 21
        try:
            exporter = serve_metrics(rt, port=rt.settings.METRICS_PORT, address=rt.settings.METRICS_ADDRESS)
        except OSError as exc:
            log.error("METRICS_PORT: cannot listen on %s:%s (%s)", rt.settings.METRICS_ADDRESS,
                      rt.settings.METRICS_PORT, exc.strerror or type(exc).__name__)
            rt.close()
            return EXIT_CONFIG
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
        if exporter is not None:
            exporter.shutdown()
        rt.close()


if __name__ == "__main__":
    sys.exit(main())
