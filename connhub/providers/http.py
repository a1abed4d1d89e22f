"""HTTP plumbing shared by the provider clients: pooled sessions, timeouts, transport errors.

Each thread gets its own `requests.Session` (sessions are not thread-safe) with a connection
pool, so a checker running many checks at once reuses keep-alive connections. Connection
setup failures are retried once by urllib3; nothing that reached the provider is retried here
(health decides what to retry, with backoff).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from connhub.providers.base import ProviderError

_local = threading.local()
USER_AGENT = "connhub/1.0 (+health-checker)"


def session() -> requests.Session:
    current = getattr(_local, "session", None)
    if current is None:
        current = requests.Session()
        # read=False: a read timeout surfaces as itself (not wrapped as a connection error) and is not retried.
        retry = Retry(total=1, connect=1, read=False, status=0, other=0, backoff_factor=0.1, raise_on_status=False)
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=8, max_retries=retry)
        current.mount("http://", adapter)
        current.mount("https://", adapter)
        current.headers["User-Agent"] = USER_AGENT
        _local.session = current
    return current


def get(url: str, *, headers: Mapping[str, str], params: Mapping[str, Any] | None, timeout: float,
        service: str) -> requests.Response:
    """GET with a timeout; transport failures become ProviderError(permanent=False)."""
    try:
        return session().get(url, headers=dict(headers), params=params, timeout=timeout)
    except requests.RequestException as exc:
        raise transport_error(exc, service) from None


def transport_error(exc: Exception, service: str) -> ProviderError:
    if isinstance(exc, requests.Timeout):
        return ProviderError(f"{service} не ответил вовремя", permanent=False, code="timeout")
    if isinstance(exc, requests.ConnectionError):
        return ProviderError(f"Нет связи с сервером {service}", permanent=False, code="connection")
    return ProviderError(f"Сбой связи с {service}", permanent=False, code="transport")


def json_body(response: requests.Response, service: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ProviderError(
            f"{service} прислал непонятный ответ", permanent=False, code=f"bad_body_{response.status_code}"
        ) from None


def retry_after_seconds(response: requests.Response, *header_names: str) -> float | None:
    for name in header_names:
        value = response.headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        if seconds >= 0:
            return seconds
    return None
