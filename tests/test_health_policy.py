"""The hysteresis policy, decided without I/O."""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from connhub.health import (
    FAILURE_THRESHOLD,
    RECOVERY_THRESHOLD,
    CheckResult,
    Outcome,
    decide,
    regular_check_at,
    retry_delay_seconds,
)
from connhub.models import Status

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
INTERVAL = 600


def result(outcome: Outcome, *, reason: str = "", retry_after: float | None = None) -> CheckResult:
    return CheckResult(1, 1, outcome, reason, outcome.value, NOW, retry_after=retry_after)


def run(status: Status, outcomes: list[Outcome]):
    failures = successes = 0
    decisions = []
    for outcome in outcomes:
        reason = {"trouble": "Эвотор недоступен (ошибка 503)", "rejected": "Эвотор отклонил токен"}.get(outcome, "")
        decision = decide(status, failures, successes, result(outcome, reason=reason), interval=INTERVAL,
                          rng=random.Random(1))
        status, failures, successes = decision.status, decision.consecutive_failures, decision.consecutive_successes
        decisions.append(decision)
    return decisions


def test_a_never_checked_connection_goes_online_on_its_first_success():
    assert run(Status.NEVER_CHECKED, [Outcome.OK])[-1].status is Status.ONLINE


def test_trouble_turns_online_to_offline_only_after_three_failures_in_a_row():
    decisions = run(Status.ONLINE, [Outcome.TROUBLE] * FAILURE_THRESHOLD)
    assert [d.status for d in decisions] == [Status.ONLINE] * (FAILURE_THRESHOLD - 1) + [Status.OFFLINE]
    assert decisions[0].reason == "Проверка не удалась (1 из 3): Эвотор недоступен (ошибка 503)"
    assert decisions[-1].reason == "Эвотор недоступен (ошибка 503)"


def test_a_success_between_failures_resets_the_count():
    decisions = run(Status.ONLINE, [Outcome.TROUBLE, Outcome.TROUBLE, Outcome.OK, Outcome.TROUBLE, Outcome.TROUBLE])
    assert all(d.status is Status.ONLINE for d in decisions)


def test_offline_goes_back_online_only_after_two_successes_in_a_row():
    decisions = run(Status.OFFLINE, [Outcome.OK, Outcome.TROUBLE, Outcome.OK, Outcome.OK])
    assert [d.status for d in decisions] == [Status.OFFLINE, Status.OFFLINE, Status.OFFLINE, Status.ONLINE]
    assert decisions[0].reason == f"Связь восстанавливается: успешная проверка 1 из {RECOVERY_THRESHOLD}"


def test_a_rejected_token_flips_to_reconnect_at_once():
    decision = run(Status.ONLINE, [Outcome.REJECTED])[-1]
    assert decision.status is Status.RECONNECT
    assert decision.reason == "Эвотор отклонил токен"


def test_a_rejected_token_is_not_retried_quickly():
    rejected = run(Status.ONLINE, [Outcome.REJECTED])[-1]
    trouble = run(Status.ONLINE, [Outcome.TROUBLE])[-1]
    assert rejected.next_check_at - NOW >= timedelta(seconds=INTERVAL / 2)
    assert rejected.next_check_at > trouble.next_check_at


def test_provider_trouble_never_turns_a_rejected_token_into_offline_or_online():
    decisions = run(Status.RECONNECT, [Outcome.TROUBLE] * 5)
    assert all(d.status is Status.RECONNECT for d in decisions)
    assert all(d.reason is None for d in decisions)  # the rejection's reason stays on the card


def test_failures_are_retried_sooner_with_backoff_capped_at_the_interval():
    assert [retry_delay_seconds(n, INTERVAL) for n in (1, 2, 3, 4, 5)] == [75, 150, 300, 600, 600]
    decisions = run(Status.ONLINE, [Outcome.TROUBLE] * 2)
    assert decisions[0].next_check_at - NOW < timedelta(seconds=INTERVAL / 4)


def test_a_retry_after_hint_postpones_the_retry():
    decision = decide(Status.ONLINE, 0, 0, result(Outcome.TROUBLE, reason="429", retry_after=300),
                      interval=INTERVAL, rng=random.Random(1))
    assert decision.next_check_at - NOW >= timedelta(seconds=300 * 0.9)


def test_a_backlog_checked_at_once_is_spread_evenly_over_the_next_interval():
    slots = [regular_check_at(connection_id, NOW, INTERVAL) for connection_id in range(1, 10_001)]
    assert all(timedelta(seconds=INTERVAL / 2) <= at - NOW <= timedelta(seconds=INTERVAL * 1.5) for at in slots)
    per_tenth = Counter(int((at.timestamp() % INTERVAL) // (INTERVAL / 10)) for at in slots)
    assert sorted(per_tenth) == list(range(10))
    assert all(900 <= count <= 1100 for count in per_tenth.values())


def test_in_steady_state_a_connection_is_checked_once_per_interval():
    first = regular_check_at(42, NOW, INTERVAL)
    second = regular_check_at(42, first + timedelta(seconds=3), INTERVAL)  # checked a moment late
    assert second - first == timedelta(seconds=INTERVAL)


def test_a_successful_check_is_next_due_at_the_connections_slot():
    decision = decide(Status.ONLINE, 0, 0, result(Outcome.OK), interval=INTERVAL, rng=random.Random(1))
    assert decision.next_check_at == regular_check_at(1, NOW, INTERVAL)
