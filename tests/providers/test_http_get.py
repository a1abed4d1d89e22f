"""`connhub.providers.http.get`, the GET of every health check and catalog page, goes straight
through urllib3 (not `requests`' session) and keeps the same promises: the request `requests` would
send, a body cap that never leaves unread bytes on a reused connection, and one answer per call."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connhub.providers import ProviderError, http


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses its connection
    seen: list[tuple[str, str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        Recorder.seen.append((self.path, self.headers.get("User-Agent", ""), self.headers.get("X-Token", "")))
        size = 3 << 20 if self.path.startswith("/big") else 0
        body = b"x" * size if size else f"answer {self.path}".encode()
        self.send_response(200)
        if not self.path.startswith("/big-undeclared"):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.path.startswith("/big-undeclared"):
            self.close_connection = True

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def fetch(url: str, params: dict[str, object] | None = None) -> str:
    return http.get(url, headers={"X-Token": "t"}, params=params, timeout=5, service="Тест").text


def test_the_request_carries_our_headers_and_the_parameters_as_requests_would_encode_them(server):
    assert fetch(f"{server}/a", {"v": "5.199", "q": "чай с мятой", "skip": None}) == (
        "answer /a?v=5.199&q=%D1%87%D0%B0%D0%B9+%D1%81+%D0%BC%D1%8F%D1%82%D0%BE%D0%B9")
    assert fetch(f"{server}/b?page=2", {"limit": 100}) == "answer /b?page=2&limit=100"  # a query is kept
    assert fetch(f"{server}/c", {}) == "answer /c"
    assert [(user_agent, token) for _, user_agent, token in Recorder.seen] == [(http.USER_AGENT, "t")] * 3


@pytest.mark.parametrize("path", ["/big-declared", "/big-undeclared"])
def test_an_answer_over_the_cap_is_refused_and_the_next_call_gets_its_own_answer(server, path):
    with pytest.raises(ProviderError) as refused:
        fetch(f"{server}{path}")
    assert refused.value.code == "too_large"
    # The refused answer's unread bytes must not be read as the next answer on a reused connection.
    assert [fetch(f"{server}/after-{n}") for n in range(3)] == [f"answer /after-{n}" for n in range(3)]
