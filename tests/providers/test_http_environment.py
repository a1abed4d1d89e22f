"""Provider calls honour the environment's proxy settings (`HTTP_PROXY`, `NO_PROXY`) as `requests`
does, though `connhub.providers.http` reads them once per host instead of on every request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connhub.providers import http


def answering(text: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            body = f"{text} {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def servers() -> Iterator[tuple[str, str]]:
    proxy, direct = answering("proxy"), answering("direct")
    yield f"http://127.0.0.1:{proxy.server_address[1]}", f"http://127.0.0.1:{direct.server_address[1]}"
    for server in (proxy, direct):
        server.shutdown()
        server.server_close()


def fetch(url: str) -> str:
    return http.get(url, headers={}, params=None, timeout=5, service="Тест").text


def test_a_call_goes_through_the_proxy_the_environment_names_unless_no_proxy_lists_the_host(servers, monkeypatch):
    proxy, direct = servers
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    http.forget_environment()
    try:
        assert fetch(f"{direct}/a") == f"proxy {direct}/a"  # a proxy is asked for the whole address
        assert fetch(f"{direct}/b") == f"proxy {direct}/b"  # read once, still applied
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        http.forget_environment()
        assert fetch(f"{direct}/c") == "direct /c"
    finally:
        monkeypatch.undo()
        http.forget_environment()
