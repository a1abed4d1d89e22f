"""The product-image port: what the sync asks for a product's image, in one shape.

The sync asks a `ProductImageSource` for (store id, product id) and gets an `ImageRef` or None.
An `ImageRef` names the image by `key` (the sha256 of the file as the catalog provider gave it)
and hands the file over only when `load()` is called, so an unchanged image is never downloaded.

A catalog provider offering images (`ProductImagesProvider`) hands over its image API
(`ProductImages`: list one product's image, download a file); the sync keeps its own cache over it
(`connhub.sync.images.CachedImages`, itself a `ProductImageSource`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol


class ImageRef(Protocol):
    """One product image: `key` says which file it is, `load()` gives the file (maybe downloading it)."""

    @property
    def key(self) -> str: ...

    def load(self) -> bytes: ...


@dataclass(frozen=True)
class ImageBytes:
    """An `ImageRef` for a file already at hand."""

    key: str
    data: bytes

    @classmethod
    def of(cls, data: bytes) -> ImageBytes:
        return cls(hashlib.sha256(data).hexdigest(), data)

    def load(self) -> bytes:
        return self.data


class ProductImageSource(Protocol):
    """(store id, product id) → the product's image, or None when it has none (or it cannot be had
    now: the source reports that itself; one product's trouble never raises)."""

    def __call__(self, store_id: str, product_id: str) -> ImageRef | None: ...


class ListedImage(Protocol):
    """One product's image as the provider lists it: where the file is, and its version."""

    @property
    def url(self) -> str: ...

    @property
    def version(self) -> str: ...


class ProductImages(Protocol):
    """A catalog provider's image API for one account. Failures are `ProviderError`s."""

    def image(self, store_id: str, product_id: str) -> ListedImage | None: ...

    def download(self, url: str) -> bytes: ...
