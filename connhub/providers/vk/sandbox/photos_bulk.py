"""Goods photos in bulk, as VK's schema has them since 2025-01-15 (vkschema 08576fa; docs/vk-goods.md):

    market.getProductPhotoUploadServer(group_id, bulk=1) → {"upload_url": …/vk/upload/photos?token=…}
    POST that address, multipart `file1`…`fileN`   → an opaque JSON text (used once, like VK's)
    market.saveProductPhotoBulk(upload_response=<that text, verbatim>) → [{"photo_id": N, "photo": {…}}, …]

`bulk` off (POST /_sandbox/vk/photos-bulk {"on": false}) emulates a VK that refuses it: the save
method is unknown (error 3) and `bulk=1` is ignored (a one-file address, which answers an upload of
`file1`… with an error), so a client's fallback to the one-by-one chain can be tested.
At most BULK_MAX_FILES files an upload (VK publishes no number; one integrator caps it at 5).
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connhub.providers.vk.sandbox.constants import VK
from connhub.providers.vk.sandbox.methods import _upload_server
from connhub.providers.vk.sandbox.model import ApiFailure, Caller, Photo, image_size
from connhub.sandbox.web import BadRequest, Request, Response, json_response

if TYPE_CHECKING:
    from connhub.providers.vk.sandbox.goods import GoodsState
    from connhub.sandbox.state import SandboxState

BULK_MAX_FILES = 5


@dataclass(eq=False)
class BulkUpload:
    group_id: int
    account_id: str
    reply: str | None = None
    files: list[tuple[int, int, str]] = field(default_factory=list)  # (width, height, sha) in upload order
    saved: bool = False


@dataclass
class BulkState:
    on: bool = True
    uploads: dict[str, BulkUpload] = field(default_factory=dict)


def _bulk(state: GoodsState) -> BulkState:
    found: BulkState = state.bulk
    return found


def upload_server(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    """`market.getProductPhotoUploadServer`: with `bulk=1` (and bulk on) an address for many files."""
    if params.get("bulk") != "1" or not _bulk(state).on:
        return _upload_server(state, caller, params, base_url)
    group_id = state._market_group(caller, params.get("group_id"), negative=False, photos=True)
    token = secrets.token_urlsafe(16)
    _bulk(state).uploads[token] = BulkUpload(group_id=group_id, account_id=caller.account_id)
    return {"upload_url": f"{base_url}/vk/upload/photos?token={token}"}


def save_bulk(state: GoodsState, caller: Caller, params: dict[str, str], base_url: str) -> Any:
    """`market.saveProductPhotoBulk(upload_response)`: every file of one bulk upload, in order."""
    if not _bulk(state).on:
        raise ApiFailure(3)
    if "market" not in caller.scopes or "photos" not in caller.scopes:
        raise ApiFailure(15)
    text = params.get("upload_response")
    upload = next((u for u in _bulk(state).uploads.values() if u.reply is not None and u.reply == text), None)
    if upload is None or upload.account_id != caller.account_id or upload.saved:
        raise ApiFailure(100, "One of the parameters specified was missing or invalid: upload_response is undefined")
    if not state.goods_enabled[upload.group_id]:
        raise ApiFailure(1438)
    upload.saved = True
    out = []
    for width, height, sha in upload.files:
        photo = Photo(id=state._next_photo, group_id=upload.group_id, width=width, height=height, sha=sha)
        state._next_photo += 1
        state.photos[photo.id] = photo
        out.append({"photo_id": photo.id, "photo": {"id": photo.id, "owner_id": -upload.group_id,
                                                     "album_id": -53, "width": width, "height": height}})
    return out


BULK_METHODS = {"market.getProductPhotoUploadServer": upload_server, "market.saveProductPhotoBulk": save_bulk}


def receive(goods: GoodsState, token: str, content_type: str, body: bytes) -> str:
    """The bulk upload server: files `file1`…`fileN`, answered with an opaque JSON text."""

    with goods._lock:
        upload = _bulk(goods).uploads.get(token)
        if upload is None or upload.reply is not None:
            return json.dumps({"error": "upload token is unknown or used"})
    files = _files(content_type, body)
    if not files:
        return json.dumps({"error": "no files in fields file1…fileN"})
    if len(files) > BULK_MAX_FILES:
        return json.dumps({"error": f"more than {BULK_MAX_FILES} files"})
    seen = []
    for data in files:
        size = image_size(data)
        if isinstance(size, str):
            return json.dumps({"error": size})
        width, height = size
        seen.append((width, height, hashlib.sha256(data).hexdigest()))
    reply = json.dumps({"server": "1", "photos_list": [{"sha": sha[:16], "photo_key": secrets.token_hex(8)}
                                                       for _, _, sha in seen], "hash": secrets.token_hex(16)},
                       separators=(",", ":"))
    with goods._lock:
        goods.calls["upload.bulk"] += 1
        upload.reply, upload.files = reply, seen
    return reply


def _files(content_type: str, body: bytes) -> list[bytes]:
    if not content_type.lower().startswith("multipart/form-data"):
        return []
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    found: dict[int, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and name.startswith("file") and name[4:].isdigit() and isinstance(payload, bytes):
            found[int(name[4:])] = payload
    return [found[n] for n in sorted(found)]


def upload_photos(state: SandboxState, request: Request) -> Response:
    """POST /vk/upload/photos?token=…: the bulk photo upload server."""
    goods: GoodsState = state.extra(VK)
    reply = receive(goods, request.params.get("token", ""), request.headers.get("Content-Type") or "", request.body)
    return Response(200, reply.encode(), "application/json; charset=utf-8")


def control_bulk(state: SandboxState, request: Request) -> Response:
    """POST /_sandbox/vk/photos-bulk {"on": bool}: VK takes bulk photo uploads, or refuses them."""
    body = request.json()
    if not isinstance(body.get("on"), bool):
        raise BadRequest("on must be true or false")
    goods: GoodsState = state.extra(VK)
    with goods._lock:
        _bulk(goods).on = body["on"]
    return json_response({"on": body["on"]})
