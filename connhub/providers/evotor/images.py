"""Evotor product images through the v2 API (reference E4).

`GET /stores/{store_id}/products/{product_id}/images` lists a product's images (at most one: "Товар
может иметь не более одного изображения"), each with a `url` on Evotor's static file server; it
needs the `product.image:read` right. The file behind the URL is a PNG of at most 5 242 800 bytes
and is fetched without the token (a CDN address must never see it), within the usual deadline, with
that size as the body cap and redirects refused. Ids enter the URL path percent-encoded (a product
id such as `x?limit=1` or `../stores` must not change which address the token is sent to).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connhub.crypto import Secret
from connhub.providers import http
from connhub.providers.base import ProviderError
from connhub.providers.evotor.catalog import ACCEPT_V2, SERVICE, refuse_access_errors
from connhub.providers.evotor.pacing import Pacer

IMAGE_RIGHT = "product.image:read"
IMAGE_MAX_BYTES = 5_242_800
LIST_MAX_BYTES = 64 * 1024  # one product's image list: one small object


@dataclass(frozen=True)
class ImageMeta:
    extension: str | None = None
    file_size: int | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class ProductImage:
    """One item of a product's image list."""

    id: str
    url: str
    meta: ImageMeta
    created_at: datetime | None
    updated_at: datetime | None

    @property
    def version(self) -> str:
        """What tells one image from the next: its id and when it last changed."""
        stamp = self.updated_at.isoformat() if self.updated_at is not None else ""
        return f"{self.id}@{stamp}"


class EvotorImages:
    """One account's product images; `image()` lists, `download()` fetches the file."""

    service = SERVICE

    def __init__(self, api_url: str, token: Secret, *, timeout: float, pacer: Pacer | None = None) -> None:
        self._api_url = api_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self.pacer = pacer or Pacer()  # one image list a product: spread under Evotor's rate limit (pacing.py)

    def image(self, store_id: str, product_id: str) -> ProductImage | None:
        """The product's image, or None when it has none (or the product is gone from Evotor)."""
        response = self.pacer.call(lambda: http.get(
            f"{self._api_url}/stores/{http.segment(store_id)}/products/{http.segment(product_id)}/images",
            headers={"Authorization": f"Bearer {self._token.reveal()}", "Accept": ACCEPT_V2},
            params=None, timeout=self._timeout, service=SERVICE, max_body=LIST_MAX_BYTES,
        ))
        refuse_access_errors(response, IMAGE_RIGHT)
        status = response.status_code
        if status == 404:
            return None
        if status != 200:
            raise ProviderError(f"Эвотор недоступен (ошибка {status})", permanent=False, code=f"http_{status}")
        return parse_images(http.json_body(response, SERVICE))

    def download(self, url: str) -> bytes:
        """The image file behind `url` (no token sent; at most IMAGE_MAX_BYTES)."""
        if not url.startswith(("https://", "http://")):
            raise ProviderError("Эвотор прислал непонятный адрес изображения", permanent=False, code="bad_image_url")
        response = http.get(url, headers={"Accept": "image/png"}, params=None, timeout=self._timeout,
                            service=SERVICE, max_body=IMAGE_MAX_BYTES)
        if response.status_code != 200:
            raise ProviderError(f"Изображение не скачалось (ошибка {response.status_code})", permanent=False,
                                code=f"http_{response.status_code}")
        return response.content


def parse_images(body: Any) -> ProductImage | None:
    """The first well-formed item of an image list (a product has at most one), or None."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise ProviderError("Эвотор прислал непонятный ответ", permanent=False, code="bad_body_200")
    for raw in body["items"]:
        if not isinstance(raw, dict):
            continue
        image_id, url = raw.get("id"), raw.get("url")
        if not isinstance(image_id, str) or not image_id or not isinstance(url, str) or not url:
            continue
        found = raw.get("meta")
        meta: dict[str, Any] = found if isinstance(found, dict) else {}
        return ProductImage(
            id=image_id, url=url,
            meta=ImageMeta(extension=_str(meta.get("extension")), file_size=_int(meta.get("file_size")),
                           width=_int(meta.get("width")), height=_int(meta.get("height"))),
            created_at=_when(raw.get("created_at")), updated_at=_when(raw.get("updated_at")),
        )
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
