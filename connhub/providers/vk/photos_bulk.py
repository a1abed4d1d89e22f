"""Goods photos uploaded in bulk: one upload address, one multipart POST and one save for a whole batch.

VK's schema (VKCOM/vk-api-schema 5.199, commit 08576fa of 2025-01-15; docs/vk-goods.md, «Photos in
bulk») has `market.getProductPhotoUploadServer(group_id, bulk=1)` and
`market.saveProductPhotoBulk(upload_response)`, which answers `[{"photo_id", "photo"}, ...]`. The
schema says nothing of the upload's field names; integrators send `file1`…`fileN` (UNVERIFIED), and
nothing says how many files one upload takes or whether an upload address may be used twice. So:

- a batch of up to 25 photos goes up as uploads of at most `FILES_PER_UPLOAD` files (one
  integrator's code caps a bulk upload at 5; VK publishes no number), each upload address is used
  once, and the addresses for the next batch are asked for inside the same `execute` that saves
  this batch's uploads (one request a batch for its photos instead of two: addresses and saves);
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

from connhub.ports.goods import GoodsError, GoodsErrorKind, Photo
from connhub.providers.vk.api import Call, CallResult, VkApiError
from connhub.providers.vk.goods import Goods
from connhub.providers.vk.goods_errors import ErrorKind

log = logging.getLogger(__name__)

BATCH_PHOTOS = 25  # photos a call of `upload` takes (a goods batch)
FILES_PER_UPLOAD = 5  # files one bulk upload carries (VK publishes no number; integrators send file1…file5)
SERVICE = "ВКонтакте"


class BulkRefused(Exception):
    """VK does not take this batch in bulk: upload it one by one (and the rest of the run too)."""


class _Part:
    """One bulk upload being written: a multipart body in a temporary file, and which photos it holds."""

    def __init__(self) -> None:
        self.body: IO[bytes] = tempfile.TemporaryFile(prefix="connhub-photos-")
        self.boundary = secrets.token_hex(16)
        self.indexes: list[int] = []

    def add(self, index: int, filename: str, data: bytes) -> None:
        self.body.write(f"--{self.boundary}\r\nContent-Disposition: form-data; name=\"file{len(self.indexes) + 1}\"; "
                        f"filename=\"{filename}\"\r\nContent-Type: image/png\r\n\r\n".encode())
        self.body.write(data)
        self.body.write(b"\r\n")
        self.indexes.append(index)

    def close(self) -> None:
        self.body.close()


class BulkPhotos:
    """Bulk uploads for one target (one token, one run)."""

    def __init__(self, goods: Goods) -> None:
        self.goods = goods
        self.off: str | None = None  # why bulk is not used any more this run
        self._ahead: tuple[int, list[str]] = (0, [])  # (community, addresses) asked for with the last save

    def upload(self, community_id: int, photos: Sequence[Photo]) -> list[int | GoodsError]:
        """Each photo's id (or its own error). Raises BulkRefused (and sets `off`) when VK refuses bulk;
        raises VkApiError for what concerns the whole batch or run (token, rights, transport)."""
        assert len(photos) <= BATCH_PHOTOS
        results: list[int | GoodsError | None] = [None] * len(photos)
        parts: list[_Part] = []
        try:
            for index, photo in enumerate(photos):
                try:
                    made = photo.open()
                except GoodsError as error:
                    results[index] = error
                    continue
                if not parts or len(parts[-1].indexes) >= FILES_PER_UPLOAD:
                    parts.append(_Part())
                parts[-1].add(index, made.filename, made.data)
                del made  # on disk now: memory holds one image at a time
            if parts:
                addresses = self._addresses(community_id, len(parts))
                replies = [self._post(community_id, part, url) for part, url in zip(parts, addresses, strict=True)]
                for part, saved in zip(parts, self._save(community_id, replies), strict=True):
                    if len(saved) != len(part.indexes):
                        self._refuse(f"saveProductPhotoBulk answered {len(saved)} photos for {len(part.indexes)} files")
                    for index, photo_id in zip(part.indexes, saved, strict=True):
                        results[index] = photo_id
        finally:
            for part in parts:
                part.close()
        return [r if r is not None else _failed() for r in results]

    # --- inside ---

    def _addresses(self, community_id: int, count: int) -> list[str]:
        """`count` upload addresses: those asked for ahead, the rest in one `execute`."""
        ahead = self._ahead[1] if self._ahead[0] == community_id else []
        taken, self._ahead = ahead[:count], (community_id, ahead[count:])
        missing = count - len(taken)
        if missing:
            results = self.goods.api.execute([_address_call(community_id)] * missing)
            for result in results:
                if result.error is not None:
                    raise self._refusal(result.error)
                url = _url(result.response)
                if url is None:
                    self._refuse("getProductPhotoUploadServer(bulk=1) gave no upload_url")
                taken.append(url)
        return taken

    def _post(self, community_id: int, part: _Part, url: str) -> str:
        """The upload reply's text, verbatim; an address asked for ahead that is refused is replaced once."""
        part.body.write(f"--{part.boundary}--\r\n".encode())
        for attempt in range(2):
            part.body.seek(0)
            text, reply = self.goods.api.post_upload(
                url, data=part.body, headers={"Content-Type": f"multipart/form-data; boundary={part.boundary}"})
            if isinstance(reply, dict) and not (reply.get("error") or reply.get("error_msg")):
                return text
            if attempt == 0:  # an address asked for ahead may have expired: one fresh one
                log.info("bulk photo upload refused (%s); trying a fresh address once", _short(reply))
                self._ahead = (community_id, [])
                url = self._addresses(community_id, 1)[0]
                continue
            self._refuse(f"the bulk upload was refused: {_short(reply)}")
        raise AssertionError("unreachable")

    def _save(self, community_id: int, replies: list[str]) -> list[list[int]]:
        """Every upload's photo ids, saved in one `execute` that also asks for the next batch's addresses."""
        ahead = -(-BATCH_PHOTOS // FILES_PER_UPLOAD)
        results = self.goods.api.execute([Call("market.saveProductPhotoBulk", {"upload_response": reply})
                                          for reply in replies] + [_address_call(community_id)] * ahead)
        saves, following = results[:len(replies)], results[len(replies):]
        out: list[list[int]] = []
        for save in saves:
            if save.error is not None:
                raise self._refusal(save.error)
            ids = _photo_ids(save)
            if ids is None:
                self._refuse("saveProductPhotoBulk answered no photo ids")
            out.append(ids)
        urls = [url for url in (_url(r.response) for r in following if r.error is None) if url is not None]
        self._ahead = (community_id, urls)
        return out

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


def _address_call(community_id: int) -> Call:
    return Call("market.getProductPhotoUploadServer", {"group_id": community_id, "bulk": 1})


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
