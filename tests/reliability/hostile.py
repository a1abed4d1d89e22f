"""A hostile provider: a small local HTTP server whose answers each test sets.

Unlike the sandbox (a faithful emulation of Evotor and VK), this server says whatever the test
tells it to, the way a broken or malicious provider could: a huge body, a body dripped one
byte at a time, a redirect to another origin, non-finite numbers, very long strings, garbage
bytes, a token endpoint that answers slowly. It listens on 127.0.0.1 only.

    with HostileServer() as hostile:
        hostile.answer("GET", "/evotor-api/stores", json_body={"items": [...]})
        hostile.answer("GET", "/evotor-api/stores", body=huge_chunks(64 << 20))
        hostile.answer("POST", "/vk-id/oauth2/auth", delay=9, json_body={...})

Every request is recorded (`requests_to(path)`), and `wait_for_request(path)` blocks until one
arrives (a real condition to wait on, instead of a sleep).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Body = bytes | Callable[[], Iterable[bytes]]


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""
    delay: float = 0.0  # seconds before the status line
    drip: float = 0.0  # seconds between chunks of the body
    drip_chunk: int = 1  # bytes per dripped chunk
    content_length: bool = True  # False: no Content-Length, the body ends when the connection closes


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    at: float


def json_bytes(value: Any) -> bytes:
    """JSON as a provider might send it; `float('inf')` becomes the bare literal `1e400`."""
    return json.dumps(value, ensure_ascii=False).replace("Infinity", "1e400").encode()


def huge_json_chunks(size: int, *, prefix: bytes, suffix: bytes, chunk: int = 1 << 20) -> Callable[[], Iterator[bytes]]:
    """A valid JSON body of about `size` bytes, produced lazily: prefix, `x` * n, suffix."""

    def produce() -> Iterator[bytes]:
        yield prefix
        left = size
        block = b"x" * chunk
        while left > 0:
            yield block[: min(chunk, left)]
            left -= chunk
        yield suffix

    return produce


class HostileServer:
    def __init__(self) -> None:
        self._answers: dict[tuple[str, str], Answer] = {}
        self._seen: list[Seen] = []
        self._lock = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="hostile", daemon=True)

    # ------------------------------------------------------------------ control (the test's side)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, method: str, path: str, *, status: int = 200, headers: dict[str, str] | None = None,
               body: Body | None = None, json_body: Any = None, delay: float = 0.0, drip: float = 0.0,
               drip_chunk: int = 1, content_length: bool = True) -> None:
        head = dict(headers or {})
        if json_body is not None:
            body = json_bytes(json_body)
            head.setdefault("Content-Type", "application/json")
        with self._lock:
            self._answers[(method.upper(), path)] = Answer(status, head, body or b"", delay, drip, drip_chunk,
                                                           content_length)

    def requests_to(self, path: str) -> list[Seen]:
        with self._lock:
            return [seen for seen in self._seen if seen.path == path]

    def wait_for_request(self, path: str, *, count: int = 1, timeout: float = 60) -> list[Seen]:
        with self._lock:
            if not self._lock.wait_for(lambda: len([s for s in self._seen if s.path == path]) >= count, timeout):
                raise AssertionError(f"no request to {path} within {timeout}s")
            return [seen for seen in self._seen if seen.path == path]

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ the server's side

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:  # keep pytest's output clean
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else b""
                with server._lock:
                    server._seen.append(Seen(self.command, parts.path, parts.query, dict(self.headers), payload,
                                             time.monotonic()))
                    server._lock.notify_all()
                    answer = server._answers.get((self.command, parts.path))
                if answer is None:
                    answer = Answer(404, {"Content-Type": "application/json"}, b'{"error": "not_found"}')
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self._write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should

            def _write(self, answer: Answer) -> None:
                chunks: Iterable[bytes] = [answer.body] if isinstance(answer.body, bytes) else answer.body()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if isinstance(answer.body, bytes) and answer.content_length:
                    self.send_header("Content-Length", str(len(answer.body)))
                if not (isinstance(answer.body, bytes) and answer.content_length):
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                for chunk in chunks:
                    if answer.drip:
                        for start in range(0, len(chunk), answer.drip_chunk):
                            self.wfile.write(chunk[start:start + answer.drip_chunk])
                            self.wfile.flush()
                            time.sleep(answer.drip)
                    else:
                        self.wfile.write(chunk)
                self.wfile.flush()

            do_GET = do_POST = do_HEAD = _serve

        return Handler


class LateDatabase:
    """A TCP port that refuses connections until `open()`, then forwards them to the real database.

    It stands for a database that is down when a process starts and comes back later."""

    def __init__(self, target: tuple[str, int]) -> None:
        import socket

        self._target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()  # nothing listens here until open()
        self._listener: socket.socket | None = None
        self._closing = threading.Event()

    def open(self) -> None:
        import socket

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket

        assert self._listener is not None
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: Any, sink: Any) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._closing.set()
        if self._listener is not None:
            self._listener.close()
