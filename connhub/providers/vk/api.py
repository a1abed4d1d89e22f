"""Calling VK API methods with a user token: one request at a time within VK's limits.

- **Transport.** Every request goes through the shared `connhub.providers.http` session (one
  deadline for the whole request, a body cap, no redirects), as a form-encoded POST to
  `{VK_API_URL}/method/{name}` with `v=5.199` and the token in the `Authorization` header, so
  the token never appears in a URL, a log line or an exception.
- **Errors.** VK answers errors as HTTP 200 with an `error` object; each code is classified by
  `goods_errors.classify` into what to do about it.
- **At most 3 requests a second per user token** (`RateLimiter`, shared by every `VkApi` of the
  same token in this process). A slot is freed a second after the previous request's *answer*
  arrived, not after it was sent, so however long a request took, VK never sees four of one
  token's requests inside one second. Across processes and hosts, each request of a token also
  takes a turn in the database's shared schedule (`connhub.ratelimit`, one turn every 0.36 s).
- **Retries.** Errors 1, 6, 9, 10 and 29 back off (0.5 s, 1 s, 2 s, ... at most 8 s) and retry.
  A transport failure (timeout, connection, 5xx) is retried only for calls that are safe to
  repeat: never `market.add`, which has no idempotency key (a repeated add is a duplicate item).
- **`execute`** runs up to 25 calls in one request (one request against the limit); each call's
  result or error comes back separately, in order, so one bad item never fails its batch.

A little over 300 lines: the limiter, the retry policy and the call paths that use them.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

from connhub import metrics, ratelimit
from connhub.crypto import Secret
from connhub.providers import http
from connhub.providers.base import ProviderError
from connhub.providers.vk.goods_errors import ErrorKind, classify

SERVICE = "ВКонтакте"
API_VERSION = "5.199"
REQUESTS_PER_SECOND = 3
SHARED_SPACING = 0.36  # seconds between a token's turns in the shared schedule: under 3 a second with a margin
EXECUTE_MAX_CALLS = 25
# Methods whose repetition after a lost answer could create something twice.
UNSAFE_TO_REPEAT = frozenset({"market.add", "market.saveProductPhoto", "market.saveProductPhotoBulk"})


class VkApiError(ProviderError):
    """A VK call failed. `error_code` is VK's code (None for transport trouble); `kind` says what to do."""

    def __init__(self, reason: str, *, kind: ErrorKind, method: str, error_code: int | None,
                 retry_after: float | None = None) -> None:
        super().__init__(reason, permanent=kind is ErrorKind.TOKEN,
                         code=f"vk_{error_code}" if error_code is not None else "vk_transport",
                         retry_after=retry_after)
        self.kind = kind
        self.method = method
        self.error_code = error_code

    @property
    def stops_run(self) -> bool:
        return self.kind.stops_run

    @classmethod
    def from_error(cls, error: Mapping[str, Any], method: str) -> VkApiError:
        code = error.get("error_code")
        if not isinstance(code, int) or isinstance(code, bool):
            return cls("ВКонтакте прислал непонятную ошибку", kind=ErrorKind.ITEM_FAILED, method=method,
                       error_code=None)
        info = classify(code)
        return cls(info.message, kind=info.kind, method=method, error_code=code)

    @classmethod
    def transport(cls, error: ProviderError, method: str) -> VkApiError:
        return cls(error.reason, kind=ErrorKind.RETRY, method=method, error_code=None,
                   retry_after=error.retry_after)


# ------------------------------------------------------------------------------------------------
# the rate limiter

class RateLimiter:
    """At most `per_second` requests in any `window` seconds, counted from each answer's arrival."""

    def __init__(self, per_second: int = REQUESTS_PER_SECOND, window: float = 1.0, *,
                 clock: Callable[[], float] = time.monotonic, shared: str | None = None) -> None:
        self.per_second = per_second
        self.shared = shared  # the token's key in the shared schedule (None: this process only)
        self.window = window
        self._clock = clock
        self._finished: collections.deque[float] = collections.deque()
        self._in_flight = 0
        self._cond = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._cond:
            while True:
                now = self._clock()
                while self._finished and now - self._finished[0] >= self.window:
                    self._finished.popleft()
                if self._in_flight + len(self._finished) < self.per_second:
                    break
                wait = self.window - (now - self._finished[0]) if self._finished else None
                self._cond.wait(wait)
            self._in_flight += 1
        try:
            if self.shared is not None:
                ratelimit.wait_turn(self.shared, SHARED_SPACING)
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                self._finished.append(self._clock())
                self._cond.notify_all()

    def idle(self) -> bool:
        """Nothing in flight and nothing answered within the window: as good as a new limiter."""
        with self._cond:
            return self._in_flight == 0 and (not self._finished or self._clock() - self._finished[-1] >= self.window)


_limiters: dict[str, RateLimiter] = {}
_limiters_lock = threading.Lock()
_PRUNE_AT = 256
_prune_at = _PRUNE_AT


def limiter_for(token: Secret) -> RateLimiter:
    """The process-wide limiter of one user token (keyed by the token's hash, never the token).

    A checker meets many tokens, so limiters idle for a whole window are dropped as more come: what
    is kept is bounded by the tokens used within the last second."""
    global _prune_at
    key = ratelimit.bucket_key("vk", token.reveal())
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            if len(_limiters) >= _prune_at:
                for stale in [k for k, held in _limiters.items() if held.idle()]:
                    del _limiters[stale]
                _prune_at = max(_PRUNE_AT, 2 * len(_limiters))
            limiter = _limiters[key] = RateLimiter(shared=key)
        return limiter


# ------------------------------------------------------------------------------------------------
# calls

@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # the first try and up to four retries
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, retry: int, error: VkApiError) -> float:
        delay = min(self.max_delay, self.base_delay * 2.0**retry)
        if error.error_code == 6:
            delay = max(delay, 1.0)  # a whole rate window
        if error.retry_after is not None:
            delay = max(delay, min(float(error.retry_after), self.max_delay))
        return delay


@dataclass(frozen=True)
class Call:
    method: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def safe_to_repeat(self) -> bool:
        return self.method not in UNSAFE_TO_REPEAT


@dataclass(frozen=True)
class CallResult:
    call: Call
    response: Any = None
    error: VkApiError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def encode(value: Any) -> str:
    """A parameter value as VK reads it: 1/0 for booleans, plain decimals, comma-joined lists."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(encode(item) for item in value)
    return str(value)


def encode_params(params: Mapping[str, Any]) -> dict[str, str]:
    return {key: encode(value) for key, value in params.items() if value is not None}


def execute_code(calls: Sequence[Call]) -> str:
    """VKScript returning each call's result, in order: `return [API.m({...}),...];`."""
    parts = [f"API.{call.method}({json.dumps(encode_params(call.params), ensure_ascii=False)})" for call in calls]
    return "return [" + ",".join(parts) + "];"


class VkApi:
    """VK API methods for one user token."""

    def __init__(self, token: Secret, *, api_url: str, timeout: float, limiter: RateLimiter | None = None,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 on_rights_refused: Callable[[], None] | None = None) -> None:
        self._token = token
        self._on_rights_refused = on_rights_refused  # marks the connection's rights for a re-probe
        self._api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.limiter = limiter if limiter is not None else limiter_for(token)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self.requests = 0  # HTTP requests to the API made by this object, retries included
        self.requests_by_method: collections.Counter[str] = collections.Counter()

    def __repr__(self) -> str:
        return f"VkApi({self._api_url!r})"

    # --- one method --------------------------------------------------------------------------------

    def call(self, method: str, params: Mapping[str, Any] | None = None, *, safe_to_repeat: bool | None = None) -> Any:
        """The `response` of one method; VkApiError when VK refuses it (after retrying what is transient)."""
        repeatable = Call(method).safe_to_repeat if safe_to_repeat is None else safe_to_repeat
        form = encode_params(params or {})
        retry = 0
        while True:
            try:
                return self._once(method, form)
            except VkApiError as error:
                if error.kind is not ErrorKind.RETRY or retry + 1 >= self.retry.attempts:
                    raise
                if error.error_code is None and not repeatable:
                    raise  # the call may have happened: the caller must find out, not repeat it
                self._sleep(self.retry.delay(retry, error))
                retry += 1

    def _once(self, method: str, form: dict[str, str]) -> Any:
        form = {**form, "v": API_VERSION}
        with self.limiter.slot():
            self.requests += 1
            self.requests_by_method[method] += 1
            metrics.vk_request(method)
            try:
                response = http.session().post(
                    f"{self._api_url}/method/{method}", data=form,
                    headers={"Authorization": f"Bearer {self._token.reveal()}"},
                    timeout=self.timeout, allow_redirects=False,
                )
            except requests.RequestException as exc:
                raise VkApiError.transport(http.transport_error(exc, SERVICE), method) from None
        if response.status_code != 200:
            retry_after = http.retry_after_seconds(response, "Retry-After")
            raise VkApiError(f"ВКонтакте недоступен (ошибка {response.status_code})", kind=ErrorKind.RETRY,
                             method=method, error_code=None, retry_after=retry_after)
        try:
            body = http.json_body(response, SERVICE)
        except ProviderError as error:
            raise VkApiError.transport(error, method) from None
        if not isinstance(body, dict):
            raise VkApiError("ВКонтакте прислал непонятный ответ", kind=ErrorKind.RETRY, method=method,
                             error_code=None)
        if isinstance(body.get("error"), dict):
            refused = VkApiError.from_error(body["error"], method)
            metrics.vk_error(method, refused.error_code)
            if refused.kind is ErrorKind.RIGHT and self._on_rights_refused is not None:
                self._on_rights_refused()  # «Права» re-probed at the next check (it never raises)
            raise refused
        if "response" not in body:
            raise VkApiError("ВКонтакте прислал ответ без результата", kind=ErrorKind.RETRY, method=method,
                             error_code=None)
        if method == "execute":
            return body  # the caller needs `execute_errors` next to `response`
        return body["response"]

    # --- execute -----------------------------------------------------------------------------------

    def execute(self, calls: Sequence[Call]) -> list[CallResult]:
        """Every call's own result, in order, in batches of at most 25 calls a request.

        A batch VK refuses as a whole (rate, rights, goods off) raises; a call that fails inside a
        batch gets its own error in its `CallResult`."""
        results: list[CallResult] = []
        for start in range(0, len(calls), EXECUTE_MAX_CALLS):
            batch = list(calls[start:start + EXECUTE_MAX_CALLS])
            body = self.call("execute", {"code": execute_code(batch)},
                             safe_to_repeat=all(call.safe_to_repeat for call in batch))
            results.extend(_execute_results(batch, body))
        return results

    # --- uploads -----------------------------------------------------------------------------------

    def post_upload(self, upload_url: str, **post: Any) -> tuple[str, Any]:
        """POST to an upload server VK gave (one deadline, no redirects): the reply's text and its JSON
        (None when it is not JSON). A transport failure or a status other than 200 is a VkApiError."""
        try:
            response = http.session().post(upload_url, timeout=self.timeout, allow_redirects=False, **post)
        except requests.RequestException as exc:
            raise VkApiError.transport(http.transport_error(exc, SERVICE), "upload") from None
        if response.status_code != 200:
            raise VkApiError(f"Сервер загрузки фото ВКонтакте ответил ошибкой {response.status_code}",
                             kind=ErrorKind.RETRY, method="upload", error_code=None)
        text = response.text
        try:
            return text, http.decode_json(text, SERVICE)  # bounded depth, like every provider answer
        except ProviderError:
            return text, None

    def upload(self, upload_url: str, *, filename: str, data: bytes, content_type: str = "image/png") -> str:
        """POST a file as multipart field `file` to an upload URL VK gave; the reply's text, verbatim.

        Upload servers are not API methods, so this does not count against the token's limit.
        """
        text, reply = self.post_upload(upload_url, files={"file": (filename, data, content_type)})
        if not isinstance(reply, dict):
            raise VkApiError("Сервер загрузки фото ВКонтакте прислал непонятный ответ", kind=ErrorKind.RETRY,
                             method="upload", error_code=None)
        if reply.get("error") or reply.get("error_msg"):
            raise VkApiError("ВКонтакте не принял файл фото", kind=ErrorKind.DATA_FIX, method="upload",
                             error_code=None)
        return text


def _execute_results(batch: list[Call], body: Any) -> list[CallResult]:
    responses = body.get("response") if isinstance(body, dict) else None
    errors = list(body.get("execute_errors") or []) if isinstance(body, dict) else []
    if not isinstance(responses, list) or len(responses) != len(batch):
        failure = VkApiError("ВКонтакте прислал непонятный ответ на пакет запросов", kind=ErrorKind.ITEM_FAILED,
                             method="execute", error_code=None)
        return [CallResult(call, error=failure) for call in batch]
    results = []
    for call, response in zip(batch, responses, strict=True):
        if response is False:
            error = errors.pop(0) if errors else {}
            failure = VkApiError.from_error(error if isinstance(error, dict) else {}, call.method)
            metrics.vk_error(call.method, failure.error_code)
            results.append(CallResult(call, error=failure))
        else:
            results.append(CallResult(call, response=response))
    return results
