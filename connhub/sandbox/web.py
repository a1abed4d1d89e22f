"""The request and response values that pass between the HTTP server and the route handlers.

Handlers are plain functions `(state, request) -> Response`, so they never touch sockets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email.message import Message
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class BadRequest(Exception):
    """The request cannot be understood; answered as a 400 by the server."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Message
    query: list[tuple[str, str]]
    body: bytes = b""

    @cached_property
    def form(self) -> list[tuple[str, str]]:
        """Fields of an application/x-www-form-urlencoded body, in order; empty for other bodies."""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded" or not self.body:
            return []
        return parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    @property
    def base_url(self) -> str:
        """The sandbox's own address as the caller reached it (links and upload URLs point back at it)."""
        return f"http://{self.headers.get('Host') or '127.0.0.1'}"

    @cached_property
    def params(self) -> dict[str, str]:
        """Query and form fields merged; a form field wins over a query one of the same name."""
        return dict(self.query + self.form)

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; an empty body is an empty object."""
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except ValueError as exc:
            raise BadRequest(f"body is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise BadRequest("body must be a JSON object")
        return value


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, body, "application/json; charset=utf-8", headers or {})


def html_response(text: str, status: int = 200) -> Response:
    return Response(status, text.encode(), "text/html; charset=utf-8", {"Cache-Control": "no-store"})


def text_response(text: str, status: int = 200) -> Response:
    return Response(status, text.encode())


def redirect(location: str, status: int = 302) -> Response:
    return Response(status, headers={"Location": location, "Cache-Control": "no-store"})


def add_query(url: str, params: dict[str, str]) -> str:
    """Append parameters to a URL that may already carry a query string (and a fragment)."""
    parts = urlsplit(url)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))
