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
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from connhub.crypto import UnreadableToken
from connhub.db import write_locked
from connhub.health.policy import CheckResult
from connhub.models import Connection, Outcome, utcnow
from connhub.providers import Provider, ProviderError, TokenSet
from connhub.runtime import Runtime

log = logging.getLogger("connhub.health")


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

    @classmethod
    def of(cls, row: Any) -> CheckTarget:
        return cls(row.id, row.provider, row.token_version, row.access_token_sealed, row.refresh_token_sealed,
                   row.token_expires_at, dict(row.auth_params or {}))


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
    """Refresh one connection's tokens, single-flight across threads and processes.

    Threads of one process queue on a per-connection lock; processes queue on the database
    (row lock on PostgreSQL, the write lock on SQLite). Under the lock the row is re-read:
    if its token version moved past the one we saw, someone else refreshed (or the user
    reconnected) and we use their tokens instead of spending the refresh token again.
    """
    with _process_lock(connection_id), write_locked(rt.sessions) as session:
        row = session.scalar(select(Connection).where(Connection.id == connection_id).with_for_update())
        if row is None:
            raise ConnectionGone(connection_id)
        current = _tokens(rt, row.access_token_sealed, row.refresh_token_sealed, row.token_expires_at,
                          row.auth_params)
        if row.token_version != seen_version:
            session.rollback()
            return current, row.token_version
        fresh = provider.refresh(current)  # raises ProviderError; the transaction rolls back
        row.access_token_sealed = rt.cipher.seal(fresh.access_token)
        row.refresh_token_sealed = rt.cipher.seal(fresh.refresh_token) if fresh.refresh_token else None
        row.token_expires_at = fresh.expires_at
        row.auth_params = dict(fresh.auth_params)
        row.token_version += 1
        version = row.token_version
        session.commit()
    log.info("tokens refreshed: connection=%s provider=%s", connection_id, provider.info.key)
    return fresh, version


def check_connection(rt: Runtime, target: CheckTarget, *, clock: Callable[[], datetime] = utcnow) -> CheckResult | None:
    """Check one connection. None when it vanished meanwhile (nothing to report)."""
    provider = rt.providers.get(target.provider)
    version = target.token_version
    latency_ms: int | None = None
    try:
        tokens = _tokens(rt, target.access_token_sealed, target.refresh_token_sealed, target.token_expires_at,
                         target.auth_params)
        if tokens.refresh_token and provider.token_is_stale(tokens.expires_at, clock()):
            tokens, version = refresh_tokens(rt, provider, target.id, version)
        started = time.perf_counter()
        try:
            account = provider.fetch_account(tokens.access_token)
        except ProviderError as exc:
            if not (tokens.refresh_token and provider.is_rejection_of_access_token(exc)):
                raise
            tokens, version = refresh_tokens(rt, provider, target.id, version)
            started = time.perf_counter()
            account = provider.fetch_account(tokens.access_token)
        latency_ms = round((time.perf_counter() - started) * 1000)
    except ProviderError as exc:
        outcome = Outcome.REJECTED if exc.permanent else Outcome.TROUBLE
        return CheckResult(target.id, version, outcome, exc.reason, exc.code, clock(), latency_ms,
                           retry_after=exc.retry_after)
    except UnreadableToken:
        return CheckResult(target.id, version, Outcome.REJECTED,
                           "Токен не расшифровывается текущим ключом — подключите заново", "unreadable_token", clock())
    except ConnectionGone:
        return None
    return CheckResult(target.id, version, Outcome.OK, "", "ok", clock(), latency_ms, account=account)


