"""HTTP plumbing shared by the provider clients: bounded requests, pooled sessions, transport errors.

Every provider call goes through a session made (or hardened) here, which guarantees:

- **One deadline for the whole request.** The `timeout` given to a call (the settings'
  `HTTP_TIMEOUT_SECONDS`) is the budget from connecting to the last byte of the body, not a
  limit per socket read: every read on the socket waits at most for what is left of the budget,
  so a server that drips its answer one byte at a time is cut off at the deadline.
- **A cap on the body.** At most `MAX_BODY_BYTES` (1 MiB, after decompression) are read; a
  longer answer is refused as «слишком большой ответ» without being read further.
- **No redirects.** A provider that answers 3xx is not followed (the token would travel with
  the request, or the answer would come from somewhere else); the caller sees the 3xx.
- **One safe JSON decoding** (`decode_json`, `json_body`): anything that is not JSON, or JSON
  nested deeper than `MAX_JSON_DEPTH` (30,000 nested arrays make Python's decoder raise
  `RecursionError`), is a `ProviderError` about that one call, never an exception that ends a run.

The deadline lives in the socket (`http_deadline.py`), the body cap in `http_body.py`, the JSON
decoding in `http_json.py`; this module puts them together (`DeadlineAdapter`, `harden`, `session`,
`get`) and re-exports what the clients use.

A GET (`get`, every health check and catalog page) goes straight through urllib3 on a connection
pool of its thread per origin (`_direct_get`), with the same guarantees: `requests`' session layers
cost 0.4 ms of CPU a request, and the checker is bound by its CPU. Other calls (and a GET through a
proxy) use a `requests.Session` of their thread (sessions are not thread-safe). Either way a checker
running many checks at once reuses keep-alive connections. The proxies and
CA bundle that `requests` would read from the environment (`HTTPS_PROXY`, `NO_PROXY`,
`REQUESTS_CA_BUNDLE` …) are read once per scheme and host (`_EnvironmentOnce`) instead of twice
a request by walking all of `os.environ`, which was a third of a health check's CPU; `~/.netrc`
is never consulted (every provider call carries its own credentials). Connection
setup failures are retried once by urllib3; nothing that reached the provider is retried here
(health decides what to retry, with backoff).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.util.retry import Retry

from connhub.providers.base import ProviderError
from connhub.providers.http_body import MAX_BODY_BYTES, ResponseTooLarge, body_limit, read_body, read_capped
from connhub.providers.http_deadline import (
    DEFAULT_BUDGET_SECONDS,
    DeadlineExceeded,
    DeadlineHTTPConnectionPool,
    DeadlineHTTPSConnectionPool,
    budget_of,
    deadline,
    remaining,
)
from connhub.providers.http_json import MAX_JSON_DEPTH, decode_json, json_body, too_deep

__all__ = [
    "DEFAULT_BUDGET_SECONDS", "MAX_BODY_BYTES", "MAX_JSON_DEPTH", "USER_AGENT", "DeadlineAdapter",
    "DeadlineExceeded", "RedirectRefused", "ResponseTooLarge", "answers", "body_limit", "decode_json",
    "deadline", "forget_environment", "get", "harden", "json_body", "remaining", "retry_after_seconds", "segment",
    "session", "too_deep", "transport_error",
]

USER_AGENT = "connhub/1.0 (+health-checker)"

_local = threading.local()


class RedirectRefused(requests.RequestException):
    """A provider call was redirected; provider calls never follow redirects."""


class DeadlineAdapter(HTTPAdapter):
    """An adapter whose `timeout` is one budget for the whole request and whose bodies are capped.

    The body is read here, inside the deadline, so `response.content` is already in memory
    (at most MAX_BODY_BYTES) when the caller gets the response."""

    def __init__(self, *, max_body: int = MAX_BODY_BYTES, **kwargs: Any) -> None:
        self.max_body = max_body
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": DeadlineHTTPConnectionPool, "https": DeadlineHTTPSConnectionPool,
        }

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        budget = budget_of(timeout)
        with deadline(budget):
            try:
                response = super().send(request, stream=True, timeout=(budget, budget), verify=verify, cert=cert,
                                        proxies=proxies)
            except requests.ConnectionError:
                if (remaining() or 0) <= 0:
                    raise DeadlineExceeded(f"no answer within {budget:g}s", request=request) from None
                raise
            except requests.Timeout:
                raise DeadlineExceeded(f"no answer within {budget:g}s", request=request) from None
            try:
                read_body(response, self.max_body)
            except BaseException:
                response.close()
                raise
        return response


# Connection setup failures are retried once; nothing that reached the provider is.
_RETRY = Retry(total=1, connect=1, read=False, status=0, other=0, redirect=0, backoff_factor=0.1,
               raise_on_status=False, raise_on_redirect=False)


def harden(client: requests.Session) -> requests.Session:
    """Mount the bounded adapter on a session (ours, or a library's such as Authlib's) and refuse redirects."""
    adapter = DeadlineAdapter(pool_connections=8, pool_maxsize=8, max_retries=_RETRY)
    client.mount("http://", adapter)
    client.mount("https://", adapter)
    client.max_redirects = 0
    client.headers["User-Agent"] = USER_AGENT
    return client


@functools.lru_cache(maxsize=256)
def _environment_proxies(scheme: str, netloc: str) -> dict[str, str]:
    return dict(requests.utils.get_environ_proxies(f"{scheme}://{netloc}/"))


@functools.lru_cache(maxsize=1)
def _environment_ca_bundle() -> str | None:
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")


def forget_environment() -> None:
    """Read the environment's proxies and CA bundle again at the next request (they are read once)."""
    _environment_proxies.cache_clear()
    _host_proxy.cache_clear()
    _environment_ca_bundle.cache_clear()


class _EnvironmentOnce(requests.Session):
    """A session that honours the environment's proxies and CA bundle as `requests` does, read once
    per scheme and host rather than on every request (`trust_env` off; netrc not consulted)."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> Any:
        parts = urlsplit(str(url))
        found = _environment_proxies(parts.scheme.lower(), parts.netloc.lower())
        proxies = {**found, **(proxies or {})}
        if verify is True or verify is None:
            verify = _environment_ca_bundle() or verify
        return super().merge_environment_settings(url, proxies, stream, verify, cert)


def session() -> requests.Session:
    current = getattr(_local, "session", None)
    if current is None:
        current = harden(_EnvironmentOnce())
        _local.session = current
    return current


def get(url: str, *, headers: Mapping[str, str], params: Mapping[str, Any] | None, timeout: float,
        service: str, max_body: int = MAX_BODY_BYTES) -> requests.Response:
    """GET within one deadline, body capped (at `max_body` bytes), redirects refused.

    Transport failures, a too large body and any 3xx become ProviderError(permanent=False)."""
    address = _with_query(url, params)
    try:
        with body_limit(max_body):
            if _proxy_for(address) is None:
                response = _direct_get(address, headers, timeout)
            else:
                response = session().get(address, headers=dict(headers), timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise transport_error(exc, service) from None
    if response.is_redirect or 300 <= response.status_code < 400:
        raise transport_error(RedirectRefused(response.headers.get("Location", "")), service)
    return response


# The same headers a `requests.Session` of ours sends, so that a provider sees one client.
_DEFAULT_HEADERS = {**requests.utils.default_headers(), "User-Agent": USER_AGENT}


def _with_query(url: str, params: Mapping[str, Any] | None) -> str:
    """`url` with `params` appended as `requests` encodes them (None values left out)."""
    if not params:
        return url
    query = urlencode([(key, value) for key, value in params.items() if value is not None], doseq=True)
    if not query:
        return url
    return f"{url}&{query}" if urlsplit(url).query else f"{url}?{query}"


def _proxy_for(url: str) -> str | None:
    parts = urlsplit(url)
    return _host_proxy(parts.scheme.lower(), parts.netloc.lower())


@functools.lru_cache(maxsize=256)
def _host_proxy(scheme: str, netloc: str) -> str | None:
    """The proxy `requests` would pick for this scheme and host (it depends on nothing else)."""
    return requests.utils.select_proxy(f"{scheme}://{netloc}/", _environment_proxies(scheme, netloc))


def _pool(address: str) -> tuple[HTTPConnectionPool, str]:
    """This thread's connection pool for the address's origin (TLS verified against the environment's
    CA bundle, or certifi's), and the request target to send it. Kept per thread and origin: a
    `PoolManager` would parse the address and rebuild its pool key on every request."""
    bundle = _environment_ca_bundle() or DEFAULT_CA_BUNDLE_PATH
    pools: dict[tuple[str, str, str, int | None], HTTPConnectionPool] | None = getattr(_local, "pools", None)
    if pools is None:
        pools = _local.pools = {}
    parsed = urllib3.util.parse_url(address)
    scheme, host = parsed.scheme or "http", parsed.host or ""
    key = (bundle, scheme, host, parsed.port)
    pool = pools.get(key)
    if pool is None:
        if len(pools) >= 8:  # a thread talks to a few provider hosts; this bounds the rest
            for stale in pools.values():
                stale.close()
            pools.clear()
        if scheme == "https":
            pool = DeadlineHTTPSConnectionPool(host, parsed.port, maxsize=8, cert_reqs="CERT_REQUIRED",
                                               ca_certs=bundle)
        else:
            pool = DeadlineHTTPConnectionPool(host, parsed.port, maxsize=8)
        pools[key] = pool
    return pool, parsed.request_uri


def _direct_get(address: str, headers: Mapping[str, str], timeout: float) -> requests.Response:
    """One GET straight through urllib3, with the guarantees of `DeadlineAdapter` (one deadline, a
    capped body, no redirects, connection setup retried once) and a `requests.Response` as the answer.

    This is the path of every health check: `requests`' session and adapter layers (cookies, hooks,
    settings merged per request) cost about 0.4 ms of CPU a request that buy a GET of ours nothing,
    and the checker is bound by its CPU. A request through a proxy takes the session path instead."""
    budget = budget_of(timeout)
    with deadline(budget):
        try:
            pool, target = _pool(address)
            raw = pool.urlopen("GET", target, headers={**_DEFAULT_HEADERS, **headers}, retries=_RETRY,
                               redirect=False, assert_same_host=False, preload_content=False,
                               decode_content=False, timeout=urllib3.Timeout(connect=budget, read=budget))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _as_requests_error(exc, budget) from None
        answer = requests.Response()
        answer.status_code = raw.status
        answer.headers = CaseInsensitiveDict(raw.headers)
        answer.encoding = requests.utils.get_encoding_from_headers(answer.headers)
        answer.reason = raw.reason or ""
        answer.url = address
        answer.raw = raw
        try:
            answer._content = read_capped(raw, answer.headers, MAX_BODY_BYTES)
        except BaseException:
            raw.close()  # a connection with unread bytes is not put back for the next request
            raw.release_conn()
            raise
        answer._content_consumed = True  # type: ignore[attr-defined]
    return answer


def _as_requests_error(exc: BaseException, budget: float) -> requests.RequestException:
    """The exception `requests`' adapter would raise for an urllib3 failure (the deadline's when it is spent)."""
    reason = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
    spent = (remaining() or 0) <= 0
    if spent or isinstance(reason, urllib3.exceptions.TimeoutError | TimeoutError):
        return DeadlineExceeded(f"no answer within {budget:g}s")
    if isinstance(reason, urllib3.exceptions.SSLError):
        return requests.exceptions.SSLError(str(reason))
    if isinstance(exc, urllib3.exceptions.LocationValueError):
        return requests.exceptions.InvalidURL(str(exc))
    return requests.ConnectionError(type(reason).__name__)


def answers(url: str, *, timeout: float) -> bool:
    """Whether anything answers at `url` at all (any HTTP status counts), within the deadline."""
    try:
        session().get(url, timeout=timeout, allow_redirects=False)
    except ResponseTooLarge:
        return True
    except requests.RequestException:
        return False
    return True


def transport_error(exc: Exception, service: str) -> ProviderError:
    if isinstance(exc, ResponseTooLarge):
        return ProviderError(f"{service} прислал слишком большой ответ", permanent=False, code="too_large")
    if isinstance(exc, requests.TooManyRedirects | RedirectRefused):
        return ProviderError(f"{service} перенаправил запрос на другой адрес", permanent=False, code="redirect")
    if isinstance(exc, requests.Timeout):
        return ProviderError(f"{service} не ответил вовремя", permanent=False, code="timeout")
    if isinstance(exc, requests.ConnectionError):
        return ProviderError(f"Нет связи с сервером {service}", permanent=False, code="connection")
    return ProviderError(f"Сбой связи с {service}", permanent=False, code="transport")


def segment(value: str) -> str:
    """`value` as one URL path segment: every character that could end it or change the URL
    (`/`, `?`, `#`, `%`, ...) percent-encoded. Every id that enters a URL path goes through this.

    An empty id, `.` or `..` cannot be one segment (HTTP clients resolve dots against the path,
    encoded or not): ProviderError, the error of whatever that id belongs to."""
    if value in ("", ".", ".."):
        raise ProviderError("Непонятный идентификатор в каталоге", permanent=False, code="bad_id")
    return quote(value, safe="")


def retry_after_seconds(response: requests.Response, *header_names: str) -> float | None:
    for name in header_names:
        value = response.headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        if 0 <= seconds <= 366 * 24 * 3600:  # non-finite or absurd values say nothing
            return seconds
    return None
