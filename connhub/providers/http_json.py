"""One safe JSON decoding for provider answers (see `connhub.providers.http`).

Anything that is not JSON, or JSON nested deeper than `MAX_JSON_DEPTH` (30,000 nested arrays make
Python's decoder raise `RecursionError`), is a `ProviderError` about that one call, never an
exception that ends a run.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from connhub.providers.base import ProviderError

MAX_JSON_DEPTH = 64  # real provider answers nest fewer than 10 levels deep


def json_body(response: requests.Response, service: str) -> Any:
    """The answer's body as JSON; ProviderError(permanent=False, code=bad_body_<status>) when it is not
    JSON a client can use (see `decode_json`)."""
    return decode_json(response.content, service, code=f"bad_body_{response.status_code}")


def decode_json(data: bytes | str, service: str, *, code: str = "bad_body") -> Any:
    """`data` decoded as JSON, or ProviderError when it cannot be: not JSON, not UTF-8, or nested
    deeper than MAX_JSON_DEPTH (whether the decoder itself gave up with RecursionError or not, a
    structure that deep would only make the code that reads it recurse too far)."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise ProviderError(f"{service} прислал непонятный ответ", permanent=False, code=code) from None
    if too_deep(value, MAX_JSON_DEPTH):
        raise ProviderError(f"{service} прислал непонятный ответ", permanent=False, code=code)
    return value


def too_deep(value: Any, limit: int) -> bool:
    """Whether lists and objects in `value` nest more than `limit` levels (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, dict) else current
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
