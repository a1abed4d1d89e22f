"""One check of one connection, with the token refresh it may need. It writes only tokens.

A check
  1. opens the stored tokens; if the access token expires within the provider's margin and
     there is a refresh token, refreshes first (`refresh_tokens`: single-flight, see there);
  2. calls the provider's account endpoint and times it;
  3. if the provider rejects the access token and a refresh might cure it (e.g. VK error 5),
     refreshes once and retries;
  4. returns a `CheckResult` naming the token version it used (`connhub.health.results` writes it).

`check_connection` is the only code that checks a connection: the checker's cycle and the
pages' «Проверить сейчас» (`connhub.connections.check_now`) both call it.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from connhub import metrics
from connhub.crypto import Secret, UnreadableToken
from connhub.db import affected, write_locked
from connhub.health.policy import CheckResult
from connhub.models import Connection, Outcome, utcnow
from connhub.providers import Provider, ProviderError, TokenSet, text
from connhub.runtime import Runtime

log = logging.getLogger("connhub.health")

UNREADABLE_TOKEN = "unreadable_token"
UNREADABLE_REASON = "Токен не расшифровывается текущим ключом шифрования connhub"
CHECK_FAILED_REASON = "Проверка не удалась из-за непонятного ответа сервиса, повторим позже"


@dataclass(frozen=True)
class CheckTarget:
    """What a check needs to know about a connection, read before the check."""

    id: int
    provider: str
    token_version: int
    access_token_sealed: str
    refresh_token_sealed: str | None
    token_expires_at: datetime | None
    auth_params: dict[str, Any]
    known: dict[str, Any] = field(default_factory=dict)  # the stored profile (what the last check learnt)
    access_token: Secret | None = None  # opened already (the cycle opens it to reserve the check's turn)

    @classmethod
    def of(cls, row: Any, *, known: bool = True) -> CheckTarget:
        return cls(row.id, row.provider, row.token_version, row.access_token_sealed, row.refresh_token_sealed,
                   row.token_expires_at, dict(row.auth_params or {}), dict(row.profile or {}) if known else {})


class ConnectionGone(Exception):
    """The connection was deleted while we worked on it."""


_refresh_locks: weakref.WeakValueDictionary[int, threading.Lock] = weakref.WeakValueDictionary()
_refresh_locks_guard = threading.Lock()


def _process_lock(connection_id: int) -> threading.Lock:
    with _refresh_locks_guard:
        lock = _refresh_locks.get(connection_id)
        if lock is None:
            lock = threading.Lock()
            _refresh_locks[connection_id] = lock
        return lock


def _tokens(rt: Runtime, access: str, refresh: str | None, expires_at: datetime | None,
            auth_params: dict[str, Any]) -> TokenSet:
    return TokenSet(
        access_token=rt.cipher.open(access),
        refresh_token=rt.cipher.open(refresh) if refresh else None,
        expires_at=expires_at,
        auth_params=dict(auth_params or {}),
    )


def refresh_tokens(rt: Runtime, provider: Provider, connection_id: int, seen_version: int) -> tuple[TokenSet, int]:
    """Refresh one connection's tokens, single-flight across threads and processes, holding no
    database lock while the provider answers.

    Threads of one process queue on a per-connection lock. Across processes the refresh is
    claimed in the database (a short transaction sets `refresh_claim` with an expiry); the
    provider is then called outside any transaction, and the new tokens are stored only if the
    claim still holds and the token version is still the one we saw. Whoever finds a live claim
    waits for it to end and then uses the tokens it stored, instead of spending the refresh
    token again; whoever finds the version moved (a refresh or a reconnect) uses those tokens.
    """
    lease = timedelta(seconds=rt.settings.HTTP_TIMEOUT_SECONDS * 2 + 10)
    with _process_lock(connection_id):
        claim = secrets.token_hex(16)
        give_up = time.monotonic() + lease.total_seconds()
        while True:
            taken = _claim_refresh(rt, connection_id, seen_version, claim, lease)
            if isinstance(taken, _Claimed):
                break
            if taken is not None:  # the version moved: someone else refreshed, or the user reconnected
                return taken
            if time.monotonic() > give_up:
                raise ProviderError("Токен уже обновляется другим процессом, повторим позже", permanent=False,
                                    code="refresh_busy")
            time.sleep(REFRESH_POLL_SECONDS)  # another process's refresh is in flight
        try:
            fresh = provider.refresh(taken.tokens)  # no transaction is open here
        except BaseException:
            metrics.token_refresh(provider.info.key, "failed")
            _release_refresh(rt, connection_id, claim)
            raise
        version = _store_refresh(rt, connection_id, seen_version, claim, fresh)
    if version is None:
        # Our claim ran out and someone else took over, or the user reconnected meanwhile: their
        # tokens win. (A rotated refresh token we received is lost; theirs is the one stored.)
        log.warning("token refresh outlived its claim: connection=%s provider=%s; using the stored tokens",
                    connection_id, provider.info.key)
        current = _current_tokens(rt, connection_id)
        if current is None:
            raise ConnectionGone(connection_id)
        return current
    log.info("tokens refreshed: connection=%s provider=%s", connection_id, provider.info.key)
    metrics.token_refresh(provider.info.key, "ok")
    return fresh, version


REFRESH_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class _Claimed:
    tokens: TokenSet


def _claim_refresh(rt: Runtime, connection_id: int, seen_version: int, claim: str,
                   lease: timedelta) -> _Claimed | tuple[TokenSet, int] | None:
    """Claim the refresh (_Claimed), or the newer tokens if the version moved, or None while
    another claim is live. A short transaction: the row lock ends with it."""
    now = utcnow()
    with write_locked(rt.sessions) as session:
        row = session.scalar(select(Connection).where(Connection.id == connection_id).with_for_update())
        if row is None:
            raise ConnectionGone(connection_id)
        tokens = _tokens(rt, row.access_token_sealed, row.refresh_token_sealed, row.token_expires_at,
                         row.auth_params)
        if row.token_version != seen_version:
            return tokens, row.token_version
        if row.refresh_claim and row.refresh_claim_expires_at and row.refresh_claim_expires_at > now:
            return None
        row.refresh_claim, row.refresh_claim_expires_at = claim, now + lease
        session.commit()
    return _Claimed(tokens)


def _store_refresh(rt: Runtime, connection_id: int, seen_version: int, claim: str, fresh: TokenSet) -> int | None:
    """Store the new tokens if our claim still holds; the new token version, or None."""
    with write_locked(rt.sessions) as session:
        stored = affected(session.execute(
            update(Connection)
            .where(Connection.id == connection_id, Connection.refresh_claim == claim,
                   Connection.token_version == seen_version)
            .values(access_token_sealed=rt.cipher.seal(fresh.access_token),
                    refresh_token_sealed=rt.cipher.seal(fresh.refresh_token) if fresh.refresh_token else None,
                    token_expires_at=fresh.expires_at, auth_params=dict(fresh.auth_params),
                    token_version=seen_version + 1, refresh_claim=None, refresh_claim_expires_at=None)
            .execution_options(synchronize_session=False)
        ))
        session.commit()
    return seen_version + 1 if stored == 1 else None


def _release_refresh(rt: Runtime, connection_id: int, claim: str) -> None:
    try:
        with write_locked(rt.sessions) as session:
            session.execute(
                update(Connection).where(Connection.id == connection_id, Connection.refresh_claim == claim)
                .values(refresh_claim=None, refresh_claim_expires_at=None)
                .execution_options(synchronize_session=False)
            )
            session.commit()
    except Exception as exc:  # noqa: BLE001 - the claim expires on its own; the refresh's error matters more
        log.warning("releasing the refresh claim of connection %s failed: %s", connection_id, type(exc).__name__)


def _current_tokens(rt: Runtime, connection_id: int) -> tuple[TokenSet, int] | None:
    with rt.sessions() as session:
        row = session.get(Connection, connection_id)
        if row is None:
            return None
        return (_tokens(rt, row.access_token_sealed, row.refresh_token_sealed, row.token_expires_at,
                        row.auth_params), row.token_version)


def check_connection(rt: Runtime, target: CheckTarget, *, clock: Callable[[], datetime] = utcnow) -> CheckResult | None:
    """Check one connection. None when it vanished meanwhile (nothing to report)."""
    provider = rt.providers.get(target.provider)
    version = target.token_version
    latency_ms: int | None = None
    try:
        # The refresh token is opened only by a refresh (`refresh_tokens` reads it afresh under its claim).
        access_token = target.access_token or rt.cipher.open(target.access_token_sealed)
        refreshable = bool(target.refresh_token_sealed)
        if refreshable and provider.token_is_stale(target.token_expires_at, clock()):
            tokens, version = refresh_tokens(rt, provider, target.id, version)
            access_token = tokens.access_token
        started = time.perf_counter()
        try:
            account = provider.fetch_account_knowing(access_token, target.known)
        except ProviderError as exc:
            if not (refreshable and provider.is_rejection_of_access_token(exc)):
                raise
            tokens, version = refresh_tokens(rt, provider, target.id, version)
            started = time.perf_counter()
            account = provider.fetch_account_knowing(tokens.access_token, target.known)
        latency_ms = round((time.perf_counter() - started) * 1000)
    except ProviderError as exc:
        outcome = Outcome.REJECTED if exc.permanent else Outcome.TROUBLE
        return CheckResult(target.id, version, outcome, exc.reason, exc.code, clock(), latency_ms,
                           retry_after=exc.retry_after)
    except UnreadableToken:
        # Our key does not open the stored token: a local fault, not the user's. The status is left
        # alone (see results.apply_results) and the cycle reports the count.
        return CheckResult(target.id, version, Outcome.TROUBLE, UNREADABLE_REASON, UNREADABLE_TOKEN, clock())
    except ConnectionGone:
        return None
    except Exception as exc:  # noqa: BLE001 - one check's fault is that check's result, never the batch's
        log.error("check failed: connection=%s provider=%s error=%s: %s", target.id, target.provider,
                  type(exc).__name__, text.clean(exc, 200))
        return CheckResult(target.id, version, Outcome.TROUBLE, CHECK_FAILED_REASON, "check_failed", clock())
    # The account is cleaned where it is stored (`results.apply_results`), once.
    return CheckResult(target.id, version, Outcome.OK, "", "ok", clock(), latency_ms, account=account)


