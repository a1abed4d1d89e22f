"""Images made on the spot for the photo, goods and sync tests."""

from __future__ import annotations

import io

from PIL import Image


def image_bytes(size=(300, 300), mode="RGB", colour=(200, 30, 30), fmt="PNG", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format=fmt, **save)
    return buffer.getvalue()
