"""HTTP plumbing: the route table, faults and accounting around every provider request, the server.

The routes are the generic ones (/, /healthz, the control API under /_sandbox) plus each
registered provider's emulation (`connhub.sandbox.emulation`). Each request is read whole, turned
into a `Request`, counted against its target (an emulation's part of the URL space, such as
`vk-api`), put through that target's fault if one is set, and handed to a route handler. Control
routes, /healthz, / and pages outside every target are never counted or faulted.

The router, the request handler and the server's lifecycle stay together (a little over 300 lines):
they are one piece of plumbing, read top to bottom.
"""

from __future__ import annotations

import re
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from connhub.sandbox import admin
from connhub.sandbox.emulation import Emulation, Route
from connhub.sandbox.pages import index_page
from connhub.sandbox.state import Fault, SandboxState
from connhub.sandbox.web import BadRequest, Request, Response, html_response, json_response, text_response

MAX_BODY = 1 << 20


def _healthz(state: SandboxState, request: Request) -> Response:
    return text_response("ok")


CONTROL_ROUTES = (
    Route("/healthz", {"GET": _healthz}, "проверка, что песочница жива"),
    Route("/_sandbox/reset", {"POST": admin.reset}, "управление: сбросить всё"),
    Route("/_sandbox/revoke", {"POST": admin.revoke}, "управление: отозвать доступ"),
    Route("/_sandbox/expire", {"POST": admin.expire}, "управление: просрочить токены доступа"),
    Route("/_sandbox/faults", {"GET": admin.list_faults, "POST": admin.set_fault, "DELETE": admin.clear_faults},
          "управление: сбои"),
    Route("/_sandbox/tokens", {"POST": admin.mint_tokens}, "управление: выпустить токены без браузера"),
    Route("/_sandbox/cloud-token", {"POST": admin.cloud_token}, "управление: токен установки приложения"),
    Route("/_sandbox/config", {"GET": admin.get_config, "POST": admin.set_config}, "управление: сроки жизни"),
    Route("/_sandbox/stats", {"GET": admin.stats}, "управление: счётчики"),
)


class Router:
    """The route table and the target map of one sandbox, built from its emulations."""

    def __init__(self, emulations: Sequence[Emulation]) -> None:
        self.emulations = tuple(emulations)
        index = Route("/", {"GET": self._index}, "эта страница")
        self.routes = (index, CONTROL_ROUTES[0], *(r for e in self.emulations for r in e.routes), *CONTROL_ROUTES[1:])
        self._exact = {route.path: route for route in self.routes if not route.prefix}
        self._prefixed = tuple(route for route in self.routes if route.prefix)
        self._targets = tuple(pair for emulation in self.emulations for pair in emulation.targets)
        self._owners = {target: emulation for emulation in self.emulations for _, target in emulation.targets}

    def _index(self, state: SandboxState, request: Request) -> Response:
        endpoints = [(f"{' | '.join(route.methods)} {route.path}{'<имя>' if route.prefix else ''}", route.description)
                     for route in self.routes]
        links = [link for emulation in self.emulations for link in emulation.links]
        return html_response(index_page(endpoints, links))

    def target_for(self, path: str) -> str | None:
        """The fault/counter target a path belongs to; None for paths that are never faulted."""
        return next((target for prefix, target in self._targets if path.startswith(prefix)), None)

    def dispatch(self, state: SandboxState, request: Request) -> Response:
        route = self._exact.get(request.path) or next(
            (route for route in self._prefixed if request.path.startswith(route.path)), None
        )
        if route is None:
            return json_response({"error": "not_found", "message": f"no such path: {request.path}"}, 404)
        handler = route.methods.get(request.method)
        if handler is None:
            return json_response({"error": "method_not_allowed", "message": f"{request.method} is not allowed here"},
                                 405, {"Allow": ", ".join(route.methods)})
        try:
            return handler(state, request)
        except BadRequest as exc:
            return json_response({"error": str(exc)}, 400)

    def fault_answer(self, target: str, fault: Fault, request: Request) -> Response | None:
        """What a fault answers in place of the real answer; None: serve normally (after its latency)."""
        owner = self._owners[target]
        if fault.status is not None:
            return fault_answer(owner, target, fault.status)
        special = owner.api_error_fault
        if fault.api_error is not None and special is not None and special.target == target:
            return special.answer(request, fault.api_error)
        return None


def fault_answer(owner: Emulation, target: str, status: int) -> Response:
    """The answer a `status` fault gives in place of the real one, shaped like the provider's errors."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    headers: dict[str, str] = {}
    if status == 429:
        headers = {"Retry-After": "30", "X-RateLimit-Reset": "30", **owner.fault_headers.get(target, {})}
    if status in (204, 304):  # these may not carry a body
        return Response(status, headers=headers)
    if target in owner.oauth_targets:
        error = {429: "slow_down", 503: "temporarily_unavailable"}.get(status)
        error = error or ("server_error" if status >= 500 else re.sub(r"\W+", "_", reason.lower()))
        return json_response({"error": error, "error_description": reason}, status, headers)
    return json_response({"code": re.sub(r"\W+", "_", reason.lower()), "message": reason}, status, headers)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "connhub-sandbox"
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024  # headers and body leave in one send; flushed after each request
    timeout = 300  # an idle keep-alive connection frees its thread after this many seconds
    server: _HTTPServer

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _serve(self) -> None:
        request = self._read_request()
        if request is None:
            return
        state = self.server.state
        target = self.server.router.target_for(request.path)
        if target is None:
            self._answer(self._dispatch(request))
            return
        fault = state.begin_request(target)
        try:
            if fault is None:
                self._answer(self._dispatch(request))
            else:
                self._answer_with_fault(target, fault, request)
        finally:
            state.end_request(target)

    def _answer_with_fault(self, target: str, fault: Fault, request: Request) -> None:
        if fault.latency_ms:
            time.sleep(fault.latency_ms / 1000)
        if fault.drop:
            self.close_connection = True  # the connection closes with nothing written
            self.log_message('"%s" dropped by a fault', self.requestline)
            return
        answer = self.server.router.fault_answer(target, fault, request)
        self._answer(answer if answer is not None else self._dispatch(request))

    def _dispatch(self, request: Request) -> Response:
        try:
            return self.server.router.dispatch(self.server.state, request)
        except Exception:  # a sandbox bug: say so loudly, keep serving
            traceback.print_exc(file=sys.stderr)
            return json_response({"error": "internal_error", "message": "sandbox bug; see its stderr"}, 500)

    def _read_request(self) -> Request | None:
        """Read the whole request; None when it was already answered (unusable body)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self._answer(text_response("chunked bodies are not supported; send Content-Length", 411), close=True)
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._answer(text_response("bad or too large Content-Length", 413), close=True)
            return None
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        return Request(
            method=self.command,
            path=unquote(parts.path),
            headers=self.headers,
            query=parse_qsl(parts.query, keep_blank_values=True),
            body=body,
        )

    def _answer(self, response: Response, *, close: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(response.body)


class _HTTPServer(ThreadingHTTPServer):
    """One thread per connection; remembers open connections so `stop()` can cut them."""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], state: SandboxState, router: Router, verbose: bool):
        self.state = state
        self.router = router
        self.verbose = verbose
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would resolve the host's FQDN, which may stall without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer is normal under load and in drop tests.
        if self.verbose or not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def sandbox_env(base_url: str, emulations: Sequence[Emulation]) -> dict[str, str]:
    """Environment variables that point connhub at a sandbox of `emulations` serving at `base_url`."""
    env: dict[str, str] = {}
    for emulation in emulations:
        env.update(emulation.env(base_url))
    return env


class SandboxServer:
    """The emulated providers on one port. Binds at construction, serves after `start()`, and is
    done after `stop()` (make a new one to serve again).

    Usable as a context manager: `with SandboxServer(emulations) as sandbox: ... sandbox.base_url ...`.
    """

    def __init__(self, emulations: Sequence[Emulation], host: str = "127.0.0.1", port: int = 0, *,
                 verbose: bool = False):
        """`emulations`: what to serve, handed over by the composition root (`connhub.runtime.emulations`)."""
        self.emulations = tuple(emulations)
        self.state = SandboxState(self.emulations)
        self._httpd = _HTTPServer((host, port), self.state, Router(self.emulations), verbose)
        self._thread: threading.Thread | None = None
        self._stopped = False
        bound_host, bound_port = self._httpd.server_address[:2]
        bound_host = bound_host.decode() if isinstance(bound_host, bytes | bytearray) else str(bound_host)
        self.host = "127.0.0.1" if bound_host in ("0.0.0.0", "") else bound_host
        self.port = bound_port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment variables that point the connhub client at this sandbox."""
        return sandbox_env(self.base_url, self.emulations)

    def start(self) -> SandboxServer:
        """Serve on a daemon thread; returns at once (the socket already accepts connections)."""
        if self._stopped:
            raise RuntimeError("this SandboxServer was stopped; create a new one")
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.1,), name="connhub-sandbox",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut every open connection. Safe to call more than once."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.close_connections()
        self._httpd.server_close()
        self._stopped = True

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
