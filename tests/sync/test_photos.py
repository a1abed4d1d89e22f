"""Evotor images padded for VK goods: size, centring, transparency, determinism, bad input."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from connhub.sync.photos import PhotoError, pad_photo, source_hash, target_size
from tests.support.images import image_bytes


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    ("size", "expected"),
    [((300, 300), (400, 400)), ((120, 300), (400, 400)), ((400, 400), (400, 400)), ((640, 480), (640, 480)),
     ((1, 1), (400, 400)), ((300, 50), (400, 400)), ((9000, 100), (9000, 450))],
    ids=["evotor-300", "narrow", "already-400", "bigger-untouched", "one-pixel", "wide-strip",
         "long-strip-keeps-1-to-20"],
)
def test_photo_is_padded_to_at_least_400_by_400(size, expected):
    photo = pad_photo(image_bytes(size))
    result = opened(photo.data)
    assert result.format == "PNG"
    assert result.size == (photo.width, photo.height) == expected


def test_original_is_centred_on_white_and_not_scaled():
    photo = opened(pad_photo(image_bytes((300, 300), colour=(200, 30, 30))).data)
    assert photo.getpixel((0, 0)) == (255, 255, 255)
    assert photo.getpixel((49, 200)) == (255, 255, 255)
    assert photo.getpixel((50, 50)) == (200, 30, 30)
    assert photo.getpixel((349, 349)) == (200, 30, 30)
    assert photo.getpixel((350, 200)) == (255, 255, 255)


def test_transparent_pixels_become_white_not_black():
    data = image_bytes((300, 300), mode="RGBA", colour=(0, 0, 0, 0))
    photo = opened(pad_photo(data).data)
    assert photo.mode == "RGB"
    assert photo.getpixel((200, 200)) == (255, 255, 255)


def test_palette_png_with_transparency_is_flattened_onto_white():
    image = Image.new("P", (300, 300), 0)
    image.putpalette([0, 0, 0, 10, 200, 10] + [0] * 762)
    image.paste(1, (0, 0, 150, 300))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", transparency=0)
    photo = opened(pad_photo(buffer.getvalue()).data)
    assert photo.getpixel((100, 200)) == (10, 200, 10)
    assert photo.getpixel((300, 200)) == (255, 255, 255)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP"])
def test_common_formats_are_accepted(fmt):
    photo = pad_photo(image_bytes((200, 300), fmt=fmt))
    assert (photo.width, photo.height) == (400, 400)


def test_same_image_gives_the_same_bytes_and_hash():
    first, second = pad_photo(image_bytes()), pad_photo(image_bytes())
    assert first.data == second.data
    assert first.sha256 == second.sha256 and len(first.sha256) == 64
    assert first.filename == f"{first.sha256[:16]}.png"


def test_same_picture_with_different_metadata_gives_the_same_photo():
    plain = image_bytes()
    from PIL import PngImagePlugin
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "some editor")
    tagged = image_bytes(pnginfo=info)
    assert source_hash(plain) != source_hash(tagged)
    assert pad_photo(plain).sha256 == pad_photo(tagged).sha256


def test_changed_image_gives_a_different_hash():
    assert pad_photo(image_bytes(colour=(1, 2, 3))).sha256 != pad_photo(image_bytes(colour=(1, 2, 4))).sha256


def test_output_carries_no_metadata():
    photo = opened(pad_photo(image_bytes()).data)
    assert not {key for key in photo.info if key not in ("dpi",)}


def test_too_large_for_vk_is_scaled_down_within_the_side_sum():
    width, height, scale = target_size(20_000, 10_000)
    assert width + height <= 14_000 and scale < 1
    assert min(width, height) >= 400


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "Пустой"), (b"not an image at all", "не похож"), (image_bytes()[:60], "поврежд"),
     (b"%PDF-1.4\n" + b"0" * 100, "не похож"), (b"\x89PNG" + b"0" * (11 * 1024 * 1024), "10 МБ")],
    ids=["empty", "text", "truncated-png", "pdf", "over-10-mb"],
)
def test_bad_input_is_refused_with_a_reason(data, message):
    with pytest.raises(PhotoError) as caught:
        pad_photo(data)
    assert message in caught.value.reason


def test_decompression_bomb_is_refused():
    # A tiny PNG declaring a huge canvas.
    bomb = image_bytes((8000, 8000), mode="1", colour=0, optimize=True)
    with pytest.raises(PhotoError):
        pad_photo(bomb)


def test_a_small_file_of_too_many_pixels_is_refused_before_it_is_decoded():
    # 6300×6300 is a legal PNG of a few dozen KB that once took a run to 558 MB when decoded.
    wide = image_bytes((6300, 6300), mode="1", colour=1, optimize=True)
    assert len(wide) < 100_000
    with pytest.raises(PhotoError) as caught:
        pad_photo(wide)
    assert caught.value.reason == "Изображение слишком большое: больше 4 мегапикселей"


def test_a_picture_within_the_pixel_budget_is_padded():
    photo = pad_photo(image_bytes((2000, 2000), mode="1", colour=1, optimize=True))
    assert (photo.width, photo.height) == (2000, 2000)
