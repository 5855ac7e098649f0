from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from describe.errors import (
    CorruptImageError,
    EmptyFileError,
    FileTooLargeError,
    NotAnImageError,
    TooManyPixelsError,
)
from describe.intake import IntakeLimits, load_image
from tests.conftest import encode


def gradient(w: int, h: int) -> np.ndarray:
    x = np.linspace(0, 255, w, dtype=np.uint8)
    return np.stack([np.tile(x, (h, 1))] * 3, axis=-1)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_every_supported_format_becomes_rgb(fmt: str) -> None:
    image = load_image(encode(gradient(64, 48), fmt))
    assert image.image.mode == "RGB"
    assert (image.width, image.height) == (64, 48)
    assert image.format in {fmt, "MPO"}
    assert image.rgb.shape == (48, 64, 3)


def test_large_image_is_downscaled_to_1024_keeping_aspect() -> None:
    image = load_image(encode(gradient(3000, 1500), "PNG"))
    assert (image.width, image.height) == (1024, 512)
    assert (image.original_width, image.original_height) == (3000, 1500)


def test_max_side_is_configurable() -> None:
    image = load_image(encode(gradient(800, 400), "PNG"), IntakeLimits(max_side=200))
    assert (image.width, image.height) == (200, 100)


def test_exif_orientation_is_applied() -> None:
    # a 40×20 image whose EXIF says "rotate 90°": upright it is 20×40
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(gradient(40, 20), "JPEG", exif=exif.tobytes())
    image = load_image(data)
    assert (image.width, image.height) == (20, 40)


def test_transparency_is_flattened_onto_white() -> None:
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)
    rgba[:, :5] = (255, 0, 0, 255)  # left half opaque red, right half fully transparent
    image = load_image(encode(Image.fromarray(rgba, "RGBA")))
    assert tuple(image.rgb[5, 2]) == (255, 0, 0)
    assert tuple(image.rgb[5, 8]) == (255, 255, 255)


def test_palette_with_transparency_and_la_modes() -> None:
    pal = Image.new("P", (8, 8), 0)
    pal.putpalette([0, 0, 255] + [0, 0, 0] * 255)
    pal.info["transparency"] = 0
    assert tuple(load_image(encode(pal)).rgb[0, 0]) == (255, 255, 255)
    la = Image.new("LA", (8, 8), (100, 255))
    assert tuple(load_image(encode(la)).rgb[0, 0]) == (100, 100, 100)


def test_cmyk_jpeg_becomes_rgb() -> None:
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # red in CMYK
    image = load_image(encode(cmyk, "JPEG"))
    r, g, b = image.rgb[8, 8]
    assert r > 200 and g < 60 and b < 60


def test_16_bit_grayscale_uses_its_full_range() -> None:
    arr = np.linspace(0, 4095, 64 * 64).reshape(64, 64).astype(np.uint16)  # 12-bit data in a 16-bit PNG
    image = load_image(encode(Image.fromarray(arr)))  # mode I;16
    assert image.rgb.min() == 0 and image.rgb.max() == 255


def test_first_frame_of_an_animated_gif() -> None:
    frames = [Image.new("RGB", (10, 10), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    r, g, _ = load_image(buf.getvalue()).rgb[5, 5]
    assert r > 200 and g < 50


def test_empty_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(EmptyFileError, match="empty file"):
        load_image(path)


def test_not_an_image(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "notes.jpg"
    path.write_text("this is a text file, not a picture")
    with pytest.raises(NotAnImageError, match=r"notes\.jpg: not an image"):
        load_image(path)


def test_missing_file_and_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotAnImageError, match="file not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(NotAnImageError, match="is a directory"):
        load_image(tmp_path)


def test_truncated_image() -> None:
    data = encode(gradient(200, 200), "JPEG")
    with pytest.raises(CorruptImageError, match="truncated or corrupt"):
        load_image(data[: len(data) // 2])


def test_corrupt_header() -> None:
    data = bytearray(encode(gradient(50, 50), "PNG"))
    data[20:40] = b"\x00" * 20  # IHDR smashed
    with pytest.raises((CorruptImageError, NotAnImageError)):
        load_image(bytes(data))


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # the limit is below the 160k pixels the header declares: refused without decoding
    with pytest.raises(TooManyPixelsError, match="over the"):
        load_image(encode(gradient(400, 400), "PNG"), IntakeLimits(max_pixels=1000))


def test_a_frame_pillow_refuses_itself_still_names_its_size_and_the_limit() -> None:
    """Over twice Pillow's own limit, Image.open refuses before the size is known to us:
    the answer still states the megapixels and our limit, as the README promises."""
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")  # 400 MP of one bit: a small file
    with pytest.raises(TooManyPixelsError) as caught:
        load_image(bomb.getvalue(), name="bomb.png")
    assert caught.value.message == "bomb.png: 400.0 MP, over the 100 MP limit (decompression bomb guard)"
    assert caught.value.detail == {"pixels": 400_000_000, "limit": 100_000_000}


def test_byte_limit() -> None:
    data = encode(gradient(100, 100), "PNG")
    with pytest.raises(FileTooLargeError, match="over the"):
        load_image(data, IntakeLimits(max_bytes=len(data) - 1))


def test_errors_carry_an_http_status() -> None:
    assert FileTooLargeError("x").status_code == 413
    assert NotAnImageError("x").status_code == 415
    assert CorruptImageError("x").status_code == 422


def test_decoding_a_large_png_costs_one_raster_not_several(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Pillow decodes a PNG to a full-size raster (4 bytes a pixel); conversions, alpha
    # flattening and downscaling must not add full-size copies on top (they took a
    # 96 MP RGBA PNG to 1.6 GB). Measured in a fresh process, as the benchmark does.
    from app.dev.bench.intake import load_peak, make_image

    # The child's own VmHWM: about 50 MB of decoder and strip buffers on top of the
    # raster, whatever the size (24 MP: 147 MB for 92; 96 MP: 413 for 366), so the image
    # is large enough that one more full-size RGB copy (+0.75 raster) cannot hide in it.
    width, height = 8000, 6000
    path = make_image(tmp_path / "large.png", (width, height), "RGBA")
    before, peak = load_peak(path)
    raster_mb = width * height * 4 / 2**20
    assert peak - before < 1.5 * raster_mb, (
        f"decoding peak {peak - before:.0f} MB for a {raster_mb:.0f} MB raster"
    )
