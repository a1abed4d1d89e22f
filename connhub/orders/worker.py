"""The sidecar's orders worker: every minute it asks whether a user's community is due a poll
(`poller.POLL_EVERY` after the last one) and polls the due ones in its own thread."""

from __future__ import annotations

import threading

from connhub.orders import poller
from connhub.runtime import Runtime
from connhub.work.workers import BackgroundWorker

ORDERS_TICK_SECONDS = 60


def orders_worker(rt: Runtime, stop: threading.Event) -> BackgroundWorker:
    def has_work() -> bool:
        with rt.sessions() as session:
            return bool(poller.due_users(session))

    def work() -> object:
        return poller.poll_due(rt, should_stop=stop.is_set)

    return BackgroundWorker("orders", ORDERS_TICK_SECONDS, has_work=has_work, work=work)
