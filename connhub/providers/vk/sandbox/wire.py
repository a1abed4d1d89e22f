"""What arrives on the wire: `execute`'s VKScript, multipart uploads, the caller's base URL, and one
admitted API request turned into its answer."""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
from typing import TYPE_CHECKING, Any

from connhub.providers.vk.sandbox.model import ApiFailure, Caller

if TYPE_CHECKING:
    from connhub.providers.vk.sandbox.goods import GoodsState
    from connhub.sandbox.web import Request

_CALL = re.compile(r"\s*API\.([A-Za-z]+\.[A-Za-z]+)\(")


def parse_execute(code: str) -> list[tuple[str, dict[str, str]]]:
    """The calls of `return [API.a.b({...}),...];` — the VKScript form clients send for batches."""
    text = code.strip()
    if not (text.startswith("return [") and text.endswith("];")):
        raise ApiFailure(12)
    body = text[len("return ["):-2]
    decoder = json.JSONDecoder()
    calls: list[tuple[str, dict[str, str]]] = []
    position = 0
    while position < len(body.rstrip()):
        match = _CALL.match(body, position)
        if match is None:
            raise ApiFailure(12)
        try:
            args, end = decoder.raw_decode(body, match.end())
        except ValueError:
            raise ApiFailure(12) from None
        if not isinstance(args, dict) or body[end:end + 1] != ")":
            raise ApiFailure(12)
        calls.append((match.group(1), {str(k): _param(v) for k, v in args.items()}))
        position = end + 1
        rest = body[position:].lstrip()
        if rest.startswith(","):
            position = len(body) - len(rest) + 1
    return calls


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(_param(v) for v in value)
    return str(value)


def multipart_file(content_type: str, body: bytes, name: str = "file") -> bytes | None:
    """The bytes of one multipart/form-data field, or None."""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == name:
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None




def base_url_of(request: Request) -> str:
    """The sandbox's own address as the caller reached it (upload URLs point back at it)."""
    return request.base_url


def answer_api(goods: GoodsState, caller: Caller, method: str, params: dict[str, str], *,
               base_url: str) -> tuple[Any, ApiFailure | None]:
    """One admitted API request of a known token: (the body to send, or None; the failure, or None)."""
    try:
        if method == "execute":
            with goods._lock:
                goods.calls["execute"] += 1
            return goods.execute(caller, params, base_url=base_url), None
        return {"response": goods.call(caller, method, params, base_url=base_url)}, None
    except ApiFailure as failure:
        return None, failure

