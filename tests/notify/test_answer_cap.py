"""The sender reads at most MAX_ANSWER_BYTES of a receiver's answer (connhub.notify.capped)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from connhub.notify.capped import MAX_ANSWER_BYTES, answers_capped
from connhub.notify.sender import send

ENDLESS = 512 << 20  # far more than any socket buffer holds: the server can only finish if it is read
CHUNK = 64 << 10


class Flood:
    """A webhook receiver answering 200 with `size` bytes (no Content-Length unless `declare`)."""

    def __init__(self, size: int, declare: bool = False) -> None:
        self.size, self.declare = size, declare
        self.sent = 0  # by the latest answer
        self.done = threading.Event()
        flood = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if flood.declare:
                    self.send_header("Content-Length", str(flood.size))
                self.end_headers()
                chunk, sent = b" " * CHUNK, 0
                try:
                    while sent < flood.size:
                        part = chunk[: flood.size - sent]
                        self.wfile.write(part)
                        sent += len(part)
                        flood.sent = sent
                except OSError:
                    pass  # the sender hung up
                finally:
                    flood.done.set()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flood() -> Iterator[type[Flood]]:
    made: list[Flood] = []

    def make(size: int, declare: bool = False) -> Flood:
        made.append(Flood(size, declare))
        return made[-1]

    yield make  # type: ignore[misc]
    for server in made:
        server.close()


def test_an_endless_answer_fails_the_send_without_being_read(rt, flood):
    receiver = flood(ENDLESS)
    outcome = send(rt, "apprise", receiver.url, "Проверка", "Текст")
    assert not outcome.ok and not outcome.permanent  # retried later, the channel stays on
    assert receiver.done.wait(30), "the sender never hung up"
    assert receiver.sent < ENDLESS


def test_a_declared_oversized_answer_fails_the_send(rt, flood):
    receiver = flood(MAX_ANSWER_BYTES + 1, declare=True)
    outcome = send(rt, "apprise", receiver.url, "Проверка", "Текст")
    assert not outcome.ok and not outcome.permanent


def test_an_answer_within_the_cap_is_a_delivery(rt, flood):
    receiver = flood(MAX_ANSWER_BYTES)
    assert send(rt, "apprise", receiver.url, "Проверка", "Текст").ok


def test_the_cap_holds_only_on_the_sending_thread_and_only_inside_the_block(flood):
    receiver = flood(MAX_ANSWER_BYTES + CHUNK)
    target = receiver.url.replace("json://", "http://")
    other: list[int] = []
    with answers_capped():
        with pytest.raises(requests.RequestException, match="more than"):
            requests.post(target, timeout=30)
        worker = threading.Thread(target=lambda: other.append(len(requests.post(target, timeout=30).content)))
        worker.start()
        worker.join(30)
    assert other == [MAX_ANSWER_BYTES + CHUNK]
    assert len(requests.post(target, timeout=30).content) == MAX_ANSWER_BYTES + CHUNK
