"""The health policy, pure: how a check's result turns into a status and the next check time.

With hysteresis, so one blip never paints a card red:
  - a rejection of the token (reconnect needed) flips at once and is not retried quickly;
  - provider trouble flips an online connection to offline only after FAILURE_THRESHOLD
    failures in a row, retried sooner with exponential backoff (never later than the interval,
    never earlier than the provider's Retry-After);
  - offline (or reconnect) goes back to online only after RECOVERY_THRESHOLD successes in a row;
  - a never-checked connection goes online on its first success;
  - regular checks land on each connection's own slot of the interval (`regular_check_at`),
    which spreads the checks evenly over the interval instead of all at once.

No I/O here: everything is decided from values passed in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connhub.models import Outcome, Status
from connhub.providers import Account

FAILURE_THRESHOLD = 3
RECOVERY_THRESHOLD = 2
JITTER = 0.1  # retries land at delay x [0.9, 1.1], so failures of one outage do not retry in lockstep


@dataclass(frozen=True)
class CheckResult:
    connection_id: int
    token_version: int  # the version of the tokens this result speaks for
    outcome: Outcome
    reason: str
    code: str
    checked_at: datetime
    latency_ms: int | None = None
    account: Account | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class Decision:
    status: Status
    reason: str | None  # None: keep the current reason
    consecutive_failures: int
    consecutive_successes: int
    next_check_at: datetime


def jittered(seconds: float, rng: random.Random) -> timedelta:
    return timedelta(seconds=seconds * rng.uniform(1 - JITTER, 1 + JITTER))


def regular_check_at(connection_id: int, now: datetime, interval: float) -> datetime:
    """The next regular check: at the connection's own slot within the interval.

    Each connection gets a stable phase in [0, interval) from a hash of its id, and is checked
    at the next occurrence of that phase at least half an interval from now. Connections are
    thus spread evenly over the interval, even right after a backlog (first start, or a checker
    outage) was checked all at once, and in steady state each one is checked once per interval.
    """
    phase = (connection_id * 2654435761 % 2**32) / 2**32 * interval  # Knuth's multiplicative hash
    moment = now.timestamp()
    slot = moment - moment % interval + phase
    while slot < moment + interval / 2:
        slot += interval
    return datetime.fromtimestamp(slot, UTC)


def retry_delay_seconds(failures: int, interval: float) -> float:
    """Backoff for provider trouble: interval/8, /4, /2, then the interval itself."""
    return min(interval, interval / 8 * 2.0 ** max(0, failures - 1))


def decide(status: Status, failures: int, successes: int, result: CheckResult, *, interval: float,
           rng: random.Random) -> Decision:
    now = result.checked_at
    regular = regular_check_at(result.connection_id, now, interval)
    if result.outcome is Outcome.OK:
        successes += 1
        if status in (Status.ONLINE, Status.NEVER_CHECKED) or successes >= RECOVERY_THRESHOLD:
            return Decision(Status.ONLINE, "", 0, successes, regular)
        reason = f"Связь восстанавливается: успешная проверка {successes} из {RECOVERY_THRESHOLD}"
        return Decision(status, reason, 0, successes, now + jittered(retry_delay_seconds(1, interval), rng))

    if result.outcome is Outcome.REJECTED:
        return Decision(Status.RECONNECT, result.reason, failures + 1, 0, regular)

    failures += 1
    delay = retry_delay_seconds(failures, interval)
    if result.retry_after:
        delay = max(delay, min(result.retry_after, interval))
    retry_at = now + jittered(delay, rng)
    if status is Status.RECONNECT:  # trouble says nothing about a rejected token: keep the verdict
        return Decision(status, None, failures, 0, regular)
    if status is Status.OFFLINE or failures >= FAILURE_THRESHOLD:
        return Decision(Status.OFFLINE, result.reason, failures, 0, retry_at)
    reason = f"Проверка не удалась ({failures} из {FAILURE_THRESHOLD}): {result.reason}"
    return Decision(status, reason, failures, 0, retry_at)


def initial_health(now: datetime) -> dict[str, Any]:
    """Health fields of a connection whose token was verified just now (connect, reconnect).

    Its next check is set once its id is known: `regular_check_at`."""
    return dict(
        status=Status.ONLINE, status_reason="", is_online=True, consecutive_failures=0,
        consecutive_successes=1, last_checked_at=now, last_success_at=now,
    )


