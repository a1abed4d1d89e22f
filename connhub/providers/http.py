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

requests has no whole-request deadline, so the deadline lives in the socket: connections made
by `DeadlineAdapter` wrap their socket so that each read's timeout is what is left of the
current request's budget (kept per thread, since a request runs on one thread).

Each thread gets its own `requests.Session` (sessions are not thread-safe) with a connection
pool, so a checker running many checks at once reuses keep-alive connections. Connection
setup failures are retried once by urllib3; nothing that reached the provider is retried here
(health decides what to retry, with backoff).
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

from connhub.providers.base import ProviderError

USER_AGENT = "connhub/1.0 (+health-checker)"
MAX_BODY_BYTES = 1 << 20  # 1 MiB: a provider's account or token answer is a few hundred bytes
DEFAULT_BUDGET_SECONDS = 30.0  # when a caller passes no timeout at all
_CHUNK = 64 << 10
MAX_JSON_DEPTH = 64  # real provider answers nest fewer than 10 levels deep

_local = threading.local()


class DeadlineExceeded(requests.Timeout):
    """The request's budget ran out (connecting, waiting for the answer, or reading the body)."""


class ResponseTooLarge(requests.RequestException):
    """The answer's body is longer than MAX_BODY_BYTES."""


class RedirectRefused(requests.RequestException):
    """A provider call was redirected; provider calls never follow redirects."""


# ----------------------------------------------------------------------------- the deadline


def _deadline() -> float | None:
    return getattr(_local, "deadline", None)


@contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Bound every socket read on this thread until the block ends to `seconds` from now in total.

    Nested blocks keep the earlier deadline."""
    outer = _deadline()
    mine = time.monotonic() + seconds
    _local.deadline = mine if outer is None else min(outer, mine)
    try:
        yield _local.deadline
    finally:
        _local.deadline = outer


@contextmanager
def body_limit(max_bytes: int) -> Iterator[None]:
    """Read at most `max_bytes` of each answer on this thread until the block ends (instead of
    MAX_BODY_BYTES): for the few calls whose answers are big by design, such as a catalog page."""
    outer = getattr(_local, "max_body", None)
    _local.max_body = max_bytes
    try:
        yield
    finally:
        _local.max_body = outer


def remaining() -> float | None:
    """Seconds left of this thread's current request budget (None outside any request)."""
    current = _deadline()
    return None if current is None else current - time.monotonic()


class _DeadlineSocket:
    """A socket whose reads and writes never wait past the thread's request deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._timeout = sock.gettimeout()

    def _arm(self) -> None:
        left = remaining()
        if left is None:
            self._sock.settimeout(self._timeout)
            return
        if left <= 0:
            raise TimeoutError("request deadline passed")
        self._sock.settimeout(left if self._timeout is None else min(left, self._timeout))

    def settimeout(self, value: float | None) -> None:
        self._timeout = value
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._arm()
        return self._sock.recv_into(buffer, nbytes, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._arm()
        return self._sock.recv(bufsize, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._arm()
        self._sock.sendall(data, flags)

    def send(self, data: Any, flags: int = 0) -> int:
        self._arm()
        return self._sock.send(data, flags)

    def makefile(self, mode: str = "r", buffering: int | None = None, **_kwargs: Any) -> Any:
        # socket.makefile, but reading through this wrapper (http.client reads the answer from it).
        if mode not in ("rb", "r"):
            return self._sock.makefile(mode, buffering)  # type: ignore[call-overload]
        self._sock._io_refs += 1  # type: ignore[attr-defined]  # as socket.makefile does
        raw = socket.SocketIO(self, "rb")  # type: ignore[arg-type]
        return io.BufferedReader(raw, buffering if buffering and buffering > 0 else io.DEFAULT_BUFFER_SIZE)

    def _decref_socketios(self) -> None:
        self._sock._decref_socketios()  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _DeadlineHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = _DeadlineSocket(self.sock)


class _DeadlineHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = _DeadlineSocket(self.sock)


class _DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


def _budget(timeout: Any) -> float:
    if timeout is None:
        return DEFAULT_BUDGET_SECONDS
    if isinstance(timeout, tuple):
        parts = [part for part in timeout if part is not None]
        return float(max(parts)) if parts else DEFAULT_BUDGET_SECONDS
    return float(timeout)


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
            "http": _DeadlineHTTPConnectionPool, "https": _DeadlineHTTPSConnectionPool,
        }

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        budget = _budget(timeout)
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
                self._read_body(response)
            except BaseException:
                response.close()
                raise
        return response

    def _read_body(self, response: requests.Response) -> None:
        limit: int = getattr(_local, "max_body", None) or self.max_body
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ResponseTooLarge(f"declared {declared} bytes", response=response)
        body = bytearray()
        try:
            while True:
                chunk = response.raw.read(_CHUNK, decode_content=True)
                if not chunk:
                    break
                body += chunk
                if len(body) > limit:
                    raise ResponseTooLarge(f"more than {limit} bytes", response=response)
        except requests.RequestException:
            raise
        except (Urllib3Error, OSError) as exc:
            if (remaining() or 0) <= 0:
                raise DeadlineExceeded("the answer did not finish in time", response=response) from None
            raise requests.ConnectionError(f"reading the answer failed: {type(exc).__name__}",
                                           response=response) from None
        response._content = bytes(body)
        response._content_consumed = True  # type: ignore[attr-defined]
        response.raw.release_conn()


def harden(client: requests.Session) -> requests.Session:
    """Mount the bounded adapter on a session (ours, or a library's such as Authlib's) and refuse redirects."""
    retry = Retry(total=1, connect=1, read=False, status=0, other=0, redirect=0, backoff_factor=0.1,
                  raise_on_status=False, raise_on_redirect=False)
    adapter = DeadlineAdapter(pool_connections=8, pool_maxsize=8, max_retries=retry)
    client.mount("http://", adapter)
    client.mount("https://", adapter)
    client.max_redirects = 0
    client.headers["User-Agent"] = USER_AGENT
    return client


def session() -> requests.Session:
    current = getattr(_local, "session", None)
    if current is None:
        current = harden(requests.Session())
        _local.session = current
    return current


def get(url: str, *, headers: Mapping[str, str], params: Mapping[str, Any] | None, timeout: float,
        service: str, max_body: int = MAX_BODY_BYTES) -> requests.Response:
    """GET within one deadline, body capped (at `max_body` bytes), redirects refused.

    Transport failures, a too large body and any 3xx become ProviderError(permanent=False)."""
    try:
        with body_limit(max_body):
            response = session().get(url, headers=dict(headers), params=params, timeout=timeout,
                                     allow_redirects=False)
    except requests.RequestException as exc:
        raise transport_error(exc, service) from None
    if response.is_redirect or 300 <= response.status_code < 400:
        raise transport_error(RedirectRefused(response.headers.get("Location", "")), service)
    return response


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


def json_body(response: requests.Response, service: str) -> Any:
    """The answer's body as JSON; ProviderError(permanent=False, code=bad_body_<status>) when it is not
    JSON a client can use (see `decode_json`)."""
    return decode_json(response.content, service, code=f"bad_body_{response.status_code}")


def decode_json(data: bytes | str, service: str, *, code: str = "bad_body") -> Any:
    """`data` decoded as JSON, or ProviderError when it cannot be: not JSON, not UTF-8, or nested
    deeper than MAX_JSON_DEPTH (whether the decoder itself gave up with RecursionError or not, a
    structure that deep would only make the code that reads it recurse too far)."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise ProviderError(f"{service} прислал непонятный ответ", permanent=False, code=code) from None
    if too_deep(value, MAX_JSON_DEPTH):
        raise ProviderError(f"{service} прислал непонятный ответ", permanent=False, code=code)
    return value


def too_deep(value: Any, limit: int) -> bool:
    """Whether lists and objects in `value` nest more than `limit` levels (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, dict) else current
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


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
