"""The whole-request deadline of a provider call (see `connhub.providers.http`).

requests has no whole-request deadline, so the deadline lives in the socket: connections made by
the pools here wrap their socket so that each read's (and write's) timeout is what is left of the
current request's budget (kept per thread, since a request runs on one thread). A server that drips
its answer one byte at a time is cut off at the deadline.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

DEFAULT_BUDGET_SECONDS = 30.0  # when a caller passes no timeout at all

_local = threading.local()


class DeadlineExceeded(requests.Timeout):
    """The request's budget ran out (connecting, waiting for the answer, or reading the body)."""


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


class DeadlineHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = _DeadlineSocket(self.sock)


class DeadlineHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = _DeadlineSocket(self.sock)


class DeadlineHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = DeadlineHTTPConnection


class DeadlineHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = DeadlineHTTPSConnection


def budget_of(timeout: Any) -> float:
    if timeout is None:
        return DEFAULT_BUDGET_SECONDS
    if isinstance(timeout, tuple):
        parts = [part for part in timeout if part is not None]
        return float(max(parts)) if parts else DEFAULT_BUDGET_SECONDS
    return float(timeout)
