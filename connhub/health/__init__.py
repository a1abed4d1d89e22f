"""Connection health: the policy, one check, claiming and writing results, the cycle, housekeeping.

    policy.py        pure: a check's result -> status, counters and the next check time
    check.py         one check of one connection, with the token refresh it may need
    results.py       claiming due connections (leases) and writing results back (row-locked)
    cycle.py         the checker's cycle: claim, check on a thread pool, write in batches
    housekeeping.py  the checker's heartbeat and the pruning of old history
    history.py       hourly and daily rollups of the check records, pruned by the sidecar's HistoryWorker
    history_views.py what the pages read of the history (cards, the service page, the sync's runs)

The checker (checker.py) runs `run_cycle`; the pages' «Проверить сейчас» is
`connhub.connections.check_now`, which uses the same check and write path. This package never
imports the pages' read model.
"""

from connhub.health.check import CheckTarget, ConnectionGone, check_connection, refresh_tokens
from connhub.health.cycle import CycleStats, providers_reachable, run_cycle
from connhub.health.housekeeping import HISTORY_RETENTION, CheckerStatus, beat, checker_status, prune_history
from connhub.health.policy import (
    FAILURE_THRESHOLD,
    JITTER,
    RECOVERY_THRESHOLD,
    CheckResult,
    Decision,
    decide,
    initial_health,
    jittered,
    regular_check_at,
    retry_delay_seconds,
)
from connhub.health.results import LEASE, Applied, apply_results, claim_due, defer, record_check
from connhub.models import Outcome  # re-exported: a check's outcome, stored in check records

__all__ = [
    "FAILURE_THRESHOLD", "HISTORY_RETENTION", "JITTER", "LEASE", "RECOVERY_THRESHOLD", "Applied", "CheckResult",
    "CheckTarget", "CheckerStatus", "ConnectionGone", "CycleStats", "Decision", "Outcome", "apply_results", "beat",
    "check_connection", "checker_status", "claim_due", "decide", "defer", "initial_health", "jittered",
    "providers_reachable", "prune_history", "record_check", "refresh_tokens", "regular_check_at",
    "retry_delay_seconds", "run_cycle",
]
