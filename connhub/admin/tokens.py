"""Which stored tokens the configured key still opens, for «Обзор».

That needs the key, not SQL: the answer is kept per (connection, token version) in the process (a
token changes only with its version; a new key means a restart), so a warm rerun decrypts nothing and
at most one statement fetches the new tokens.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connhub.crypto import TokenCipher, UnreadableToken
from connhub.models import Connection

# Fetching every sealed token in one statement beats a long IN list past this many unknown ones.
FETCH_ALL_TOKENS_OVER = 2000


@dataclass
class _Readability:
    fingerprint: tuple[Any, ...] | None = None  # of the (id, token_version) set the answer is for
    known: dict[tuple[int, int], bool] = field(default_factory=dict)
    unreadable: frozenset[int] = frozenset()
    lock: threading.Lock = field(default_factory=threading.Lock)


_readability: weakref.WeakKeyDictionary[TokenCipher, _Readability] = weakref.WeakKeyDictionary()
_readability_lock = threading.Lock()


def _cache_for(cipher: TokenCipher) -> _Readability:
    with _readability_lock:
        found = _readability.get(cipher)
        if found is None:
            found = _readability[cipher] = _Readability()
        return found


def opens(cipher: TokenCipher, sealed: str) -> bool:
    try:
        cipher.open(sealed)
    except UnreadableToken:
        return False
    return True


def unreadable_ids(session: Session, cipher: TokenCipher) -> frozenset[int]:
    """The connections whose token the configured key cannot open.

    One aggregate statement when no token changed since the last call (a token changes only with
    its connection's `token_version`; a new row has a new id or a newer `created_at`); otherwise
    one more for the (id, version) pairs and, for pairs not seen before, one for their tokens."""
    cache = _cache_for(cipher)
    fingerprint = tuple(session.execute(select(
        func.count(), func.coalesce(func.sum(Connection.token_version), 0), func.coalesce(func.sum(Connection.id), 0),
        func.max(Connection.created_at))).one())
    with cache.lock:
        if fingerprint == cache.fingerprint:
            return cache.unreadable
    current = {(row.id, row.token_version) for row in session.execute(select(Connection.id, Connection.token_version))}
    with cache.lock:
        unknown = [key for key in current if key not in cache.known]
    found: dict[tuple[int, int], bool] = {}
    if unknown:
        query = select(Connection.id, Connection.token_version, Connection.access_token_sealed)
        if len(unknown) <= FETCH_ALL_TOKENS_OVER:
            query = query.where(Connection.id.in_([key[0] for key in unknown]))
        found = {(row.id, row.token_version): opens(cipher, row.access_token_sealed)
                 for row in session.execute(query)}
    with cache.lock:
        known = {key: found[key] if key in found else cache.known.get(key, True) for key in current}
        cache.known = known
        cache.unreadable = frozenset(key[0] for key, readable in known.items() if not readable)
        cache.fingerprint = fingerprint
        return cache.unreadable
