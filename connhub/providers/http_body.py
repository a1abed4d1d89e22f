"""The cap on a provider answer's body (see `connhub.providers.http`).

At most `MAX_BODY_BYTES` (1 MiB, after decompression) are read; a longer answer is refused as
«слишком большой ответ» without being read further. `body_limit` raises the cap on one thread for
the few calls whose answers are big by design (a catalog page).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

from connhub.providers.http_deadline import DeadlineExceeded, remaining

MAX_BODY_BYTES = 1 << 20  # 1 MiB: a provider's account or token answer is a few hundred bytes
_CHUNK = 64 << 10

_local = threading.local()


class ResponseTooLarge(requests.RequestException):
    """The answer's body is longer than MAX_BODY_BYTES."""


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


def read_capped(raw: Any, headers: Mapping[str, str], default_limit: int) -> bytes:
    """Read an urllib3 answer's body, at most this thread's `body_limit` (else `default_limit`) bytes
    after decompression, within the current deadline; the connection goes back to its pool."""
    limit: int = getattr(_local, "max_body", None) or default_limit
    declared = headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(f"declared {declared} bytes")
    body = bytearray()
    # A read allocates the whole amount asked for: a few hundred declared bytes are asked for as such,
    # not as a 64 KiB buffer per request (the checker's memory, issue 19).
    amount = min(int(declared), _CHUNK) if declared.isdigit() and int(declared) > 0 else _CHUNK
    try:
        while True:
            chunk = raw.read(amount, decode_content=True)
            if not chunk:
                break
            body += chunk
            if len(body) > limit:
                raise ResponseTooLarge(f"more than {limit} bytes")
    except requests.RequestException:
        raise
    except (Urllib3Error, OSError) as exc:
        if (remaining() or 0) <= 0:
            raise DeadlineExceeded("the answer did not finish in time") from None
        raise requests.ConnectionError(f"reading the answer failed: {type(exc).__name__}") from None
    raw.release_conn()
    return bytes(body)


def read_body(response: requests.Response, default_limit: int) -> None:
    """`read_capped` for an answer that came through a `requests` adapter: the body lands in
    `response.content`."""
    try:
        body = read_capped(response.raw, response.headers, default_limit)
    except requests.RequestException as exc:
        exc.response = response
        raise
    response._content = body
    response._content_consumed = True  # type: ignore[attr-defined]
