"""Goods photos uploaded in bulk: one upload address, one multipart POST and one save for a whole batch.

VK's schema (VKCOM/vk-api-schema 5.199, commit 08576fa of 2025-01-15; docs/vk-goods.md, «Photos in
bulk») has `market.getProductPhotoUploadServer(group_id, bulk=1)` and
`market.saveProductPhotoBulk(upload_response)`, which answers `[{"photo_id", "photo"}, ...]`. The
schema says nothing of the upload's field names; integrators send `file1`…`fileN` (UNVERIFIED), and
nothing says how many files one upload takes or whether an upload address may be used twice. So:

- a batch is at most `BULK_FILES` photos, each upload address is used once, and the address for the
  next batch is asked for inside the same `execute` that saves this batch (one request a batch for
  its photos instead of two: the upload address and the save);
- the multipart body is written to a temporary file, one image at a time, and streamed from there:
  memory holds one image whatever the batch size;
- when VK refuses bulk in any way that is not about the token or the community (an unknown method,
  an unknown parameter, an upload reply with an error, a save that answers something else), the
  caller falls back to the one-by-one chain for the rest of the run (`BulkPhotos.off` says why).
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Sequence
from typing import IO, Any, NoReturn

import requests

from connhub.ports.goods import GoodsError, GoodsErrorKind, Photo
from connhub.providers import http
from connhub.providers.base import ProviderError
from connhub.providers.vk.api import Call, CallResult, VkApiError
from connhub.providers.vk.goods import Goods
from connhub.providers.vk.goods_errors import ErrorKind

log = logging.getLogger(__name__)

BULK_FILES = 25  # photos in one upload and one save (no limit is published; a goods batch's size)
SERVICE = "ВКонтакте"


class BulkRefused(Exception):
    """VK does not take this batch in bulk: upload it one by one (and the rest of the run too)."""


class BulkPhotos:
    """Bulk uploads for one target (one token, one run)."""

    def __init__(self, goods: Goods) -> None:
        self.goods = goods
        self.off: str | None = None  # why bulk is not used any more this run
        self._next_url: tuple[int, str] | None = None  # (community, address) asked for with the last save

    def upload(self, community_id: int, photos: Sequence[Photo]) -> list[int | GoodsError]:
        """Each photo's id (or its own error). Raises BulkRefused (and sets `off`) when VK refuses bulk,
        before any photo is saved; raises VkApiError for what concerns the whole run (token, rights)."""
        assert len(photos) <= BULK_FILES
        results: list[int | GoodsError | None] = [None] * len(photos)
        with tempfile.TemporaryFile(prefix="connhub-photos-") as body:
            boundary = secrets.token_hex(16)
            sent: list[int] = []  # indexes of the photos in the body, in upload order
            for index, photo in enumerate(photos):
                try:
                    made = photo.open()
                except GoodsError as error:
                    results[index] = error
                    continue
                _part(body, boundary, f"file{len(sent) + 1}", made.filename, made.data)
                sent.append(index)
                del made  # one image in memory at a time
            if not sent:
                return [r if r is not None else _failed() for r in results]
            body.write(f"--{boundary}--\r\n".encode())
            reply = self._post(community_id, body, boundary)
        saved, self._next_url = self._save(community_id, reply)
        if len(saved) != len(sent):
            self._refuse(f"saveProductPhotoBulk answered {len(saved)} photos for {len(sent)} files")
        for index, photo_id in zip(sent, saved, strict=True):
            results[index] = photo_id
        return [r if r is not None else _failed() for r in results]

    # --- inside ---

    def _address(self, community_id: int) -> str:
        if self._next_url is not None and self._next_url[0] == community_id:
            url = self._next_url[1]
            self._next_url = None
            return url
        try:
            answer = self.goods.api.call("market.getProductPhotoUploadServer", {"group_id": community_id, "bulk": 1})
        except VkApiError as error:
            raise self._refusal(error) from None
        fresh = _url(answer)
        if fresh is None:
            self._refuse("getProductPhotoUploadServer(bulk=1) gave no upload_url")
        return fresh

    def _post(self, community_id: int, body: IO[bytes], boundary: str) -> str:
        """The upload reply's text, verbatim; a used-up prefetched address is replaced once."""
        for attempt in range(2):
            prefetched = self._next_url is not None and self._next_url[0] == community_id
            url = self._address(community_id)
            body.seek(0)
            try:
                response = http.session().post(url, data=body, timeout=self.goods.api.timeout, allow_redirects=False,
                                               headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
            except requests.RequestException as exc:
                raise VkApiError.transport(http.transport_error(exc, SERVICE), "upload") from None
            if response.status_code != 200:
                raise VkApiError(f"Сервер загрузки фото ВКонтакте ответил ошибкой {response.status_code}",
                                 kind=ErrorKind.RETRY, method="upload", error_code=None)
            text = response.text
            try:
                reply = http.decode_json(text, SERVICE)  # bounded depth, like every provider answer
            except ProviderError:
                reply = None
            if isinstance(reply, dict) and not (reply.get("error") or reply.get("error_msg")):
                return text
            if attempt == 0 and prefetched:  # an address asked for ahead may have expired
                log.info("bulk photo upload refused (%s); trying a fresh address once", _short(reply))
                continue
            self._refuse(f"the bulk upload was refused: {_short(reply)}")
        raise AssertionError("unreachable")

    def _save(self, community_id: int, reply: str) -> tuple[list[int], tuple[int, str] | None]:
        save, following = self.goods.api.execute([
            Call("market.saveProductPhotoBulk", {"upload_response": reply}),
            Call("market.getProductPhotoUploadServer", {"group_id": community_id, "bulk": 1}),
        ])
        if save.error is not None:
            raise self._refusal(save.error)
        ids = _photo_ids(save)
        if ids is None:
            self._refuse("saveProductPhotoBulk answered no photo ids")
        url = _url(following.response) if following.error is None else None
        return ids, ((community_id, url) if url is not None else None)

    def _refusal(self, error: VkApiError) -> Exception:
        """A whole-run error as itself; anything else means bulk is refused."""
        if error.stops_run or error.kind is ErrorKind.RETRY:
            return error
        self.off = f"{error.method}: {error.error_code} {error.reason}"
        log.info("VK refused bulk photos (%s); one by one for the rest of the run", self.off)
        return BulkRefused(self.off)

    def _refuse(self, why: str) -> NoReturn:
        self.off = why
        log.info("VK refused bulk photos (%s); one by one for the rest of the run", why)
        raise BulkRefused(why)


def _part(body: IO[bytes], boundary: str, name: str, filename: str, data: bytes) -> None:
    body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
               "Content-Type: image/png\r\n\r\n".encode())
    body.write(data)
    body.write(b"\r\n")


def _url(answer: Any) -> str | None:
    url = answer.get("upload_url") if isinstance(answer, dict) else None
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None


def _photo_ids(result: CallResult) -> list[int] | None:
    if not isinstance(result.response, list):
        return None
    ids = [entry.get("photo_id") if isinstance(entry, dict) else None for entry in result.response]
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        return None
    return [int(i) for i in ids if isinstance(i, int)]


def _failed() -> GoodsError:
    return GoodsError("Фото не сохранено", GoodsErrorKind.FAILED)


def _short(reply: Any) -> str:
    return str(reply)[:120]
