"""A cap on what the notify sender reads back from a receiver.

Apprise's plugins call `requests` with sessions of their own, and read each answer whole. Inside
`answers_capped()` (the sender wraps every send in it) the answers read on this thread stop at
`MAX_ANSWER_BYTES` (after decompression): a longer one fails that send as a `ResponseTooLarge`,
which Apprise reports as a failed send (retried later), without reading the rest. The cap is a
context variable: Apprise runs each service on a worker thread with a copy of the caller's context,
so the cap follows the send there, while other threads (the checker's provider calls, which have
their own cap) are not affected.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import requests
from requests.adapters import HTTPAdapter

MAX_ANSWER_BYTES = 64 << 10  # a webhook's or the Bot API's answer is a few hundred bytes
_CHUNK = 16 << 10

_limit: ContextVar[int | None] = ContextVar("connhub_notify_answer_limit", default=None)
_installed = threading.Lock()
_original_send = HTTPAdapter.send


class ResponseTooLarge(requests.RequestException):
    """A receiver's answer is longer than the cap."""


def _read_capped(response: requests.Response, limit: int) -> None:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(f"declared {declared} bytes", response=response)
    body = bytearray()
    while chunk := response.raw.read(_CHUNK, decode_content=True):
        body += chunk
        if len(body) > limit:
            raise ResponseTooLarge(f"more than {limit} bytes", response=response)
    response._content = bytes(body)
    response._content_consumed = True  # type: ignore[attr-defined]
    response.raw.release_conn()


def _send(self: HTTPAdapter, request: requests.PreparedRequest, stream: bool = False, **kwargs: Any
          ) -> requests.Response:
    limit = _limit.get()
    if limit is None:
        return _original_send(self, request, stream=stream, **kwargs)
    response = _original_send(self, request, stream=True, **kwargs)
    try:
        _read_capped(response, limit)
    except BaseException:
        response.close()
        raise
    return response


@contextmanager
def answers_capped(limit: int = MAX_ANSWER_BYTES) -> Iterator[None]:
    """Read at most `limit` bytes of each HTTP answer in this context until the block ends."""
    with _installed:
        if HTTPAdapter.send is not _send:
            HTTPAdapter.send = _send  # type: ignore[method-assign, assignment]
    token = _limit.set(limit)
    try:
        yield
    finally:
        _limit.reset(token)
