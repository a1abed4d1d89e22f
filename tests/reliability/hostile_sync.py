"""A hostile proxy in front of the sandbox, for the sync's hostile-provider tests.

The sync needs a whole Evotor and a whole VK community to run at all, which the sandbox emulates
faithfully. `HostileProxy` forwards every request to a sandbox and passes the answer back, with
the sandbox's address in answers rewritten to the proxy's (so image files and photo uploads come
through it too), except for the requests a test overrides, which get whatever the test says:

    with HostileProxy(sandbox.base_url) as proxy:
        proxy.override("GET", r"/products/p-sencha/images$", body=deep_json(30_000))
        proxy.override("POST", r"^/vk/upload/", delay=30)        # an upload server that never answers
        env = proxy.env()                                          # point a real process at it

Every request is recorded (`seen(pattern)`), so a test can say what the process asked for.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from connhub.config import PROJECT_ROOT
from connhub.runtime import Runtime, emulations
from connhub.sandbox.server import sandbox_env
from connhub.users import UserView
from tests.support.sync import env_of

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


def deep_json(levels: int) -> bytes:
    """`levels` nested JSON arrays: valid JSON that Python's decoder cannot take (RecursionError)."""
    return b"[" * levels + b"]" * levels


Responder = Callable[[str, bytes], bytes]  # (path with query, request body) → the answer's body


@dataclass
class Override:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: bytes | Responder
    delay: float
    content_type: str
    times: int | None  # how many more requests it answers (None: all); then they are forwarded again


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # as sent, query string included
    at: float


class HostileProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        parts = urlsplit(self.upstream)
        self._upstream_host, self._upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        self._overrides: list[Override] = []
        self._seen: list[Request] = []
        self._lock = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="hostile-proxy", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def env(self) -> dict[str, str]:
        """Provider URLs (Evotor, VK) pointing at the proxy."""
        return sandbox_env(self.base_url, emulations())

    def override(self, method: str, pattern: str, *, status: int = 200, body: bytes | Responder = b"",
                 delay: float = 0.0, content_type: str = "application/json", times: int | None = None) -> None:
        """Answer requests whose path (query included) matches `pattern` (re.search) with this; `body`
        may be a function of the request (path, body) that makes the answer; `times` answers only that many."""
        with self._lock:
            self._overrides.append(Override(method.upper(), re.compile(pattern), status, body, delay, content_type,
                                            times))

    def seen(self, pattern: str) -> list[Request]:
        regex = re.compile(pattern)
        with self._lock:
            return [request for request in self._seen if regex.search(request.path)]

    def __enter__(self) -> HostileProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ the server's side

    def _find(self, method: str, path: str) -> Override | None:
        with self._lock:
            self._seen.append(Request(method, path, time.monotonic()))
            self._lock.notify_all()
            for override in self._overrides:
                if override.method == method and override.pattern.search(path) and override.times != 0:
                    if override.times is not None:
                        override.times -= 1
                    return override
        return None

    def _forward(self, method: str, path: str, headers: dict[str, str],
                 payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(self._upstream_host, self._upstream_port, timeout=60)
        try:
            connection.request(method, path, body=payload or None, headers=headers)
            response = connection.getresponse()
            body = response.read()
            head = [(name, value) for name, value in response.getheaders() if name.lower() not in HOP_HEADERS]
            status = response.status
        finally:
            connection.close()
        for old in (self.upstream, self.upstream.replace("/", "\\/")):
            body = body.replace(old.encode(), self.base_url.replace("/", "\\/" if "\\/" in old else "/").encode())
        return status, head, body

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else b""
                override = proxy._find(self.command, self.path)
                if override is not None:
                    if override.delay:
                        time.sleep(override.delay)  # the hostile server's own behaviour, not a test's wait
                    body = override.body if isinstance(override.body, bytes) else override.body(self.path, payload)
                    status, head = override.status, [("Content-Type", override.content_type)]
                else:
                    headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_HEADERS}
                    status, head, body = proxy._forward(self.command, self.path, headers, payload)
                try:
                    self.send_response(status)
                    for name, value in head:
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should

            do_GET = do_POST = _serve

        return Handler


DEEP = deep_json(30_000)


def endless_market(*, new_every_page: bool, count: int = 10**9) -> Responder:
    """`market.get` answers claiming `count` items: 200 new ones on every page (ids from the offset),
    or the same 200 on every page."""

    def respond(_path: str, payload: bytes) -> bytes:
        form = parse_qs(payload.decode())
        offset = int(form.get("offset", ["0"])[0]) if new_every_page else 0
        items = [{"id": 10_000_000 + offset + n, "owner_id": -1, "title": f"Чужой товар {offset + n}",
                  "price": {"amount": "10000"}, "availability": 0} for n in range(200)]
        return json.dumps({"response": {"count": count, "items": items}}).encode()

    return respond


# ---------------------------------------------------------------------------- fixtures and a real run


def run_sync(rt: Runtime, proxy: HostileProxy, user: UserView, *args: str,
             **env_extra: str) -> subprocess.CompletedProcess[str]:
    """The real `python -m connhub.sync --user EMAIL` with the providers behind `proxy`, to completion."""
    env = env_of(rt) | proxy.env() | {"PYTHONPATH": str(PROJECT_ROOT)} | env_extra
    return subprocess.run([sys.executable, "-m", "connhub.sync", "--user", user.email, *args], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
