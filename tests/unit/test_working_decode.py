"""Working-resolution decode: a big photo decoded reduced (JPEG DCT scaling, one box reduction for other
formats), EXIF orientation right, sizes and boxes in the original photo's pixels, crops equivalent."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from rap_desktop.core.images import (
    EXEMPLAR_MAX_SIDE,
    crop_box,
    crop_original,
    exemplar_crop,
    load_image,
    load_region,
    load_working,
    working_factor,
)

SIZE = (2700, 1500)  # big enough to halve: long side >= 2 x 1280, short side >= 2 x 672
# EXIF orientation n -> how the stored pixels are turned into the displayed photo (Pillow's table)
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
INVERSE = {2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}  # the stored pixels of a displayed photo


def _photo(photos, size=SIZE) -> Image.Image:
    """A package photo scaled up to `size` (smooth: its halves hold what the full size holds)."""
    with Image.open(photos["chelsea"]) as image:
        return image.convert("RGB").resize(size, Image.Resampling.BICUBIC)


def _encode(displayed: Image.Image, orientation: int, fmt: str) -> bytes:
    stored = displayed if orientation == 1 else displayed.transpose(TRANSPOSE[INVERSE[orientation]])
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    options = {"quality": 92} if fmt == "JPEG" else {}
    stored.save(buffer, format=fmt, exif=exif, **options)
    return buffer.getvalue()


def _diff(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).mean())


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_reduced_like_the_full_decode(photos, orientation: int) -> None:
    displayed = _photo(photos)
    data = _encode(displayed, orientation, "JPEG")
    full, working = load_image(data), load_working(data)
    assert full.size == displayed.size  # the reference: the full decode turned upright
    assert working.size == full.size and working.scale == 2.0
    assert working.image.size == (full.size[0] // 2, full.size[1] // 2)
    assert working.sha256 == full.sha256 and working.data == data  # hashing stays on the file bytes
    assert _diff(working.image, full.image.reduce(2)) < 3.0  # the same picture, the same way up
    box = (1234.0, 300.0, 1900.0, 1111.0)  # original pixels
    crop = crop_original(working, box)
    reference = crop_box(full.image, box).resize(crop.size, Image.Resampling.BOX)
    assert _diff(crop, reference) < 3.0


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF", "AVIF"])
def test_other_formats_are_reduced_once_after_decoding(photos, fmt: str) -> None:
    if fmt == "HEIF":
        pytest.importorskip("pillow_heif").register_heif_opener()
    displayed = _photo(photos, (2700, 1400))
    try:
        data = _encode(displayed, 6, fmt)
    except (KeyError, OSError, ValueError) as exc:  # no encoder for it in this build
        pytest.skip(f"cannot write {fmt} here: {exc}")
    full, working = load_image(data), load_working(data)
    assert full.size == (1400, 2700) or full.size == displayed.size
    assert working.size == full.size and working.scale == 2.0  # 1400 / 3 < 672: halved
    assert _diff(working.image, full.image.reduce(2)) < 1.0
    box = (100.0, 900.0, 1100.0, 2000.0)
    crop = crop_original(working, box)
    assert _diff(crop, crop_box(full.image, box).resize(crop.size, Image.Resampling.BOX)) < 3.0


def test_small_photos_are_decoded_as_they_are(photos) -> None:
    for name in ("zidane", "chelsea", "astronaut"):
        full, working = load_image(photos[name]), load_working(photos[name])
        assert working.scale == 1.0 and working.image.size == full.size == working.size
        assert _diff(working.image, full.image) == 0.0


def test_factor_keeps_twice_the_model_sizes() -> None:
    assert working_factor(4000, 3000, 1280, 672, powers_of_two=True) == 2  # 12 MP: 2000x1500
    assert working_factor(12000, 9000, 1280, 672, powers_of_two=True) == 8  # 108 MP: 1500x1125
    assert working_factor(4000, 3000, 1280, 672, powers_of_two=False) == 3  # PNG: 1333x1000
    assert working_factor(1600, 1200, 1280, 672, powers_of_two=True) == 1


def test_a_small_region_is_cut_from_a_finer_decode_when_asked(photos) -> None:
    data = _encode(_photo(photos), 1, "JPEG")
    working = load_working(data)
    box = (1000.0, 500.0, 1300.0, 760.0)  # 260 px short side: 130 px at working size
    assert crop_original(working, box).size == (150, 130)
    finer = crop_original(working, box, min_side=224)
    assert finer.size == (300, 260)  # from the full decode: the pixels the original has
    assert _diff(finer, crop_box(load_image(data).image, box)) < 1.0


@pytest.mark.parametrize("orientation", [1, 6])
def test_a_region_kept_as_a_concept_photo_is_decoded_once_at_its_size(photos, orientation: int) -> None:
    """load_region + exemplar_crop: a large region from a reduced decode, at most EXEMPLAR_MAX_SIDE
    long; a small one from the full decode, as the original has it."""
    displayed = _photo(photos, (5400, 3000))
    data = _encode(displayed, orientation, "JPEG")
    full = load_image(data)
    wide = (200.0, 100.0, 2900.0, 2900.0)  # 2700 x 2800: 4x reduced still leaves 675 px
    loaded = load_region(data, wide)
    assert loaded.scale == 4.0 and loaded.size == full.size and loaded.sha256 == full.sha256
    assert exemplar_crop(loaded, wide).size == (675, 700)
    large = (200.0, 100.0, 1700.0, 2900.0)  # 1500 x 2800: halved, 750 x 1400, then at most 1344 long
    loaded = load_region(data, large)
    assert loaded.scale == 2.0
    kept = exemplar_crop(loaded, large)
    assert max(kept.size) == EXEMPLAR_MAX_SIDE and min(kept.size) == 720
    assert _diff(kept, crop_box(full.image, large).resize(kept.size, Image.Resampling.BOX)) < 3.0
    small = (1000.0, 500.0, 1500.0, 1100.0)  # 500 px short side: under EXEMPLAR_MIN_SIDE at any scale
    loaded = load_region(data, small)
    assert loaded.scale == 1.0
    assert exemplar_crop(loaded, small).size == (500, 600)
    assert _diff(exemplar_crop(loaded, small), crop_box(full.image, small)) == 0.0
