"""Real local receivers for notices: an SMTP server (aiosmtpd) and an HTTP server that takes
Apprise's JSON webhooks (`json://`) and Telegram Bot API calls (`/bot<token>/sendMessage`).

Answers are programmable per path prefix (`http.answer("/hook", 500)`), and every delivery is
kept so a test can count what arrived. `wait_for(count)` waits on a condition with a deadline.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mail:
    to: list[str]
    subject: str
    body: str
    received_at: float


class _Deliveries:
    def __init__(self) -> None:
        self.items: list[Any] = []
        self.cond = threading.Condition()

    def add(self, item: Any) -> None:
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.items) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.items)


class SmtpReceiver(_Deliveries):
    """An SMTP server on localhost; recipients starting with "bad" are refused (550)."""

    def __init__(self) -> None:
        super().__init__()
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("bad"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        text = ""
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                text = payload.decode(part.get_content_charset() or "utf-8") if isinstance(payload, bytes) else ""
                break
        self.add(Mail(list(envelope.rcpt_tos), str(make_header(decode_header(message["Subject"] or ""))), text,
                      time.monotonic()))
        return "250 OK"

    def __enter__(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


@dataclass
class Post:
    path: str
    payload: dict[str, Any]
    received_at: float


@dataclass
class HttpReceiver(_Deliveries):
    """Webhooks and a Telegram-compatible Bot API on localhost, with programmable answers."""

    answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(min(length, 1 << 20))
                try:
                    payload = json.loads(raw or b"{}")
                except ValueError:
                    payload = {"raw": raw.decode("utf-8", "replace")}
                status, body = receiver.answer_for(self.path)
                if status == 200:
                    receiver.add(Post(self.path, payload, time.monotonic()))
                else:
                    receiver.refused.append(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.refused: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"

    def answer(self, prefix: str, status: int, body: dict[str, Any] | None = None) -> None:
        self.answers[prefix] = (status, body or {})

    def answer_for(self, path: str) -> tuple[int, dict[str, Any]]:
        for prefix, answer in self.answers.items():
            if path.startswith(prefix):
                return answer
        return 200, {"ok": True, "result": {"message_id": 1}}

    def __enter__(self) -> HttpReceiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
