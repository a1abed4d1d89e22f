"""Evotor product images made acceptable to VK goods (docs/vk-goods.md, «Fields and limits»).

Evotor keeps at most one image per product, a PNG of at most 300×300. VK wants a goods photo of
at least 400×400 (width + height at most 14000, sides at most 1:20 apart). `pad_photo` centres the
image on a white canvas large enough for that (scaling only a picture too big for VK down, never
a small one up), flattens transparency onto white (VK shows goods on white), and writes a PNG
with no metadata, so the same input always gives the same bytes. `PaddedPhoto.sha256` is the
hash of those bytes: an unchanged image has the same hash, and its VK photo can be reused.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MIN_SIDE = 400
MAX_SIDE_SUM = 14_000
MAX_RATIO = 20
MAX_INPUT_BYTES = 10 * 1024 * 1024  # Evotor's own cap is 5 242 800 bytes
# Decoded pixels are what cost memory (a 6300×6300 PNG of 38 KB decodes to ~120 MB and more in the
# copies padding makes). Evotor's images are at most 300×300; 4 megapixels leave room for a photo
# put there by mistake and keep one image's decoding under ~60 MB. Checked before decoding.
MAX_INPUT_PIXELS = 4_000_000
BACKGROUND = (255, 255, 255)
ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")


class PhotoError(ValueError):
    """The image cannot be used; `reason` is Russian, for the sync run's failure list."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PaddedPhoto:
    data: bytes  # PNG
    width: int
    height: int
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.sha256[:16]}.png"


def source_hash(data: bytes) -> str:
    """The hash of an image as Evotor gave it (to tell whether it changed without decoding it)."""
    return hashlib.sha256(data).hexdigest()


def target_size(width: int, height: int) -> tuple[int, int, float]:
    """The canvas size for an image of `width`×`height`, and the scale to draw it at (≤ 1)."""
    scale = 1.0
    if width + height > MAX_SIDE_SUM - 2 * MIN_SIDE:
        scale = (MAX_SIDE_SUM - 2 * MIN_SIDE) / (width + height)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    canvas_w, canvas_h = max(MIN_SIDE, w), max(MIN_SIDE, h)
    # Keep the sides at most 1:20 apart by growing the short one.
    canvas_w = max(canvas_w, -(-canvas_h // MAX_RATIO))
    canvas_h = max(canvas_h, -(-canvas_w // MAX_RATIO))
    return canvas_w, canvas_h, scale


def pad_photo(data: bytes) -> PaddedPhoto:
    """`data` (PNG, JPEG, GIF, WebP or BMP) as a PNG of at least 400×400 that VK accepts."""
    if not data:
        raise PhotoError("Пустой файл изображения")
    if len(data) > MAX_INPUT_BYTES:
        raise PhotoError("Изображение больше 10 МБ")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as opened:
                if opened.width * opened.height > MAX_INPUT_PIXELS:
                    megapixels = MAX_INPUT_PIXELS // 1_000_000
                    raise PhotoError(f"Изображение слишком большое: больше {megapixels} мегапикселей")
                opened.seek(0)  # the first frame of an animation
                image = ImageOps.exif_transpose(opened)
                image.load()
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("Файл не похож на изображение PNG, JPEG, GIF, WebP или BMP") from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise PhotoError("Изображение повреждено") from None

    flat = _flatten(image)
    canvas_w, canvas_h, scale = target_size(*flat.size)
    if scale < 1.0:
        flat = flat.resize((max(1, round(flat.width * scale)), max(1, round(flat.height * scale))),
                           Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (canvas_w, canvas_h), BACKGROUND)
    canvas.paste(flat, ((canvas_w - flat.width) // 2, (canvas_h - flat.height) // 2))
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=False, compress_level=6)
    body = out.getvalue()
    return PaddedPhoto(data=body, width=canvas_w, height=canvas_h, sha256=hashlib.sha256(body).hexdigest())


def _flatten(image: Image.Image) -> Image.Image:
    """RGB with any transparency composited onto the white background."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(base, rgba).convert("RGB")
    return image.convert("RGB")

