"""connhub's sidecar: checks every connection's health on a schedule.

    python checker.py           # run until SIGTERM / Ctrl-C
    python checker.py --once    # one cycle over every due connection, then exit 0
    python checker.py --catalog-once   # run the catalog refreshes that are due or requested, then exit 0

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

from connhub.catalog.worker import CATALOG_TICK_SECONDS, CatalogWorker
from connhub.config import ConfigError, load_settings
from connhub.health import beat, prune_history, run_cycle
from connhub.models import utcnow
from connhub.oauth import prune_flows
from connhub.runtime import Runtime
from connhub.sync.worker import SYNC_TICK_SECONDS, SyncWorker

log = logging.getLogger("connhub.checker")


def tick_seconds(interval: int) -> int:
    """How often to look for due connections: often enough that retries land on time."""
    return max(1, min(30, interval // 20))


class Checker:
    def __init__(self, rt: Runtime, *, checker_id: str | None = None) -> None:
        self.rt = rt
        self.checker_id = checker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.started_at = utcnow()
        self.stop = threading.Event()
        self.catalog = CatalogWorker(rt, self.checker_id, self.stop)  # catalog refreshes, in their own thread
        self.sync = SyncWorker(rt, self.stop)  # sync runs requested on the page, in their own thread

    def tick(self) -> None:
        try:
            stats = run_cycle(self.rt, worker_id=self.checker_id, stop=self.stop)
            if stats.checked:
                counts = ", ".join(f"{name}={count}" for name, count in sorted(stats.by_status.items()))
                log.info("cycle: checked=%d written=%d dropped=%d deferred=%d [%s] in %.2fs",
                         stats.checked, stats.written, stats.dropped, stats.deferred, counts or "-",
                         stats.duration_s)
            beat(self.rt, checker_id=self.checker_id, started_at=self.started_at, last_cycle=stats.as_dict())
        except Exception:  # one bad tick must not kill the loop; the next one retries
            log.exception("cycle failed")

    def housekeeping(self) -> None:
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
        beat(self.rt, checker_id=self.checker_id, started_at=self.started_at)
        jobs = schedule.Scheduler()
        jobs.every(every).seconds.do(self.tick)
        jobs.every(1).hours.do(self.housekeeping)
        jobs.every(CATALOG_TICK_SECONDS).seconds.do(self.catalog.tick)
        jobs.every(SYNC_TICK_SECONDS).seconds.do(self.sync.tick)
        self.housekeeping()
        self.tick()
        while not self.stop.is_set():
            jobs.run_pending()
            idle = jobs.idle_seconds
            self.stop.wait(timeout=max(0.05, idle if idle is not None else every))
        self.catalog.join()
        self.sync.join()
        log.info("checker %s stopped", self.checker_id)

    def run_once(self) -> None:
        log.info("checker %s: one cycle", self.checker_id)
        self.tick()
        self.housekeeping()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check the health of every connhub connection.")
    parser.add_argument("--once", action="store_true", help="run one cycle over all due connections and exit")
    parser.add_argument("--catalog-once", action="store_true",
                        help="queue the catalog refreshes that are due, run every queued one, and exit")
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        rt = Runtime.from_settings(load_settings())
    except ConfigError as exc:
        log.error("%s", exc)
        return 2
    checker = Checker(rt)

    def request_stop(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping after in-flight checks are written", signal.Signals(signum).name)
        checker.stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        if args.catalog_once:
            checker.catalog.run_once()
        else:
            checker.run_once() if args.once else checker.run_forever()
    finally:
        rt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
