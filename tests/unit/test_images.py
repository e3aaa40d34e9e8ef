"""The safe image loader: good photos in every mode and format, and a folder of bad files."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile, ImageOps

from rap_desktop.core.errors import ImageError
from rap_desktop.core.images import (
    MAX_FILE_BYTES,
    MAX_PIXELS,
    LoadedImage,
    crop_box,
    load_image,
    parse_box,
    sha256_bytes,
    thumbnail,
    to_rgb,
)

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def close_to(pixel: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], expected, strict=True))


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size but holds no pixels: nothing to allocate unless a loader trusts it."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def marked_photo() -> Image.Image:
    """A real photo (skimage's cat), small, with a pure red block in its top-left corner."""
    from skimage import data

    photo = Image.fromarray(data.chelsea()).resize((120, 80))
    photo.paste(RED, (0, 0, 20, 20))
    return photo


# --- good files ---------------------------------------------------------------------------------


def test_real_photos_from_packages_load(photos: dict[str, Path]) -> None:
    for key in ("grace_hopper", "bus", "astronaut"):
        loaded = load_image(photos[key])
        with Image.open(photos[key]) as reference:
            assert loaded.size == reference.size
        assert loaded.image.mode == "RGB"
        assert loaded.sha256 == hashlib.sha256(photos[key].read_bytes()).hexdigest()
    assert load_image(photos["bus"]).extension == "jpg"
    assert load_image(photos["astronaut"]).format == "PNG"


def test_lossless_png_keeps_every_pixel(tmp_path: Path) -> None:
    from skimage import data

    pixels = data.astronaut()
    path = write(tmp_path / "astronaut.png", encode(Image.fromarray(pixels), "PNG"))
    loaded = load_image(path)
    assert np.array_equal(np.asarray(loaded.image), pixels)
    assert (loaded.format, loaded.extension) == ("PNG", "png")


def test_result_is_detached_hashed_and_keeps_the_bytes(tmp_path: Path, marked_photo: Image.Image) -> None:
    data = encode(marked_photo, "JPEG", quality=90)
    path = write(tmp_path / "cat.jpg", data)
    loaded = load_image(str(path))
    assert isinstance(loaded, LoadedImage)
    assert loaded.data == data
    assert loaded.sha256 == hashlib.sha256(data).hexdigest() == sha256_bytes(data)
    assert "data=" not in repr(loaded)  # megabytes of bytes never land in a log line
    path.unlink()  # the file is closed and the pixels are in memory
    assert loaded.image.getpixel((5, 5))[0] > 200
    assert load_image(data, name="upload").sha256 == loaded.sha256  # bytes input


@pytest.mark.parametrize(
    ("orientation", "size", "red_corner"),
    [(1, (120, 80), (5, 5)), (6, (80, 120), (74, 5)), (3, (120, 80), (114, 74)), (8, (80, 120), (5, 114))],
)
def test_exif_orientation_is_applied(
    tmp_path: Path,
    marked_photo: Image.Image,
    orientation: int,
    size: tuple[int, int],
    red_corner: tuple[int, int],
) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = write(tmp_path / f"rot{orientation}.jpg", encode(marked_photo, "JPEG", quality=95, exif=exif.tobytes()))
    loaded = load_image(path)
    assert loaded.size == size
    assert close_to(loaded.image.getpixel(red_corner), RED)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow says "Corrupt EXIF data"
def test_broken_exif_keeps_the_photo_unrotated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marked_photo: Image.Image
) -> None:
    garbage = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x09\x01\x12\x00"  # IFD cut off mid-entry
    path = write(tmp_path / "broken-exif.jpg", encode(marked_photo, "JPEG", exif=garbage))
    loaded = load_image(path)
    assert loaded.size == (120, 80)
    assert close_to(loaded.image.getpixel((5, 5)), RED)

    def explode(image: Image.Image, **kwargs: object) -> Image.Image:
        raise SyntaxError("not a TIFF IFD")

    monkeypatch.setattr(ImageOps, "exif_transpose", explode)  # whatever a worse EXIF block raises
    assert load_image(path).size == (120, 80)


def test_rgba_png_transparent_pixels_become_white(tmp_path: Path) -> None:
    image = Image.new("RGBA", (4, 4), (0, 0, 255, 255))
    image.putpixel((0, 0), (0, 0, 0, 0))
    image.putpixel((1, 0), (255, 0, 0, 128))
    loaded = load_image(write(tmp_path / "alpha.png", encode(image, "PNG")))
    assert loaded.image.mode == "RGB"
    assert loaded.image.getpixel((0, 0)) == WHITE
    assert close_to(loaded.image.getpixel((1, 0)), (255, 127, 127), 2)
    assert loaded.image.getpixel((3, 3)) == BLUE


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, *GREEN] + [0] * 762)
    image.putpixel((0, 0), 0)
    data = encode(image, "PNG", transparency=0)
    loaded = load_image(write(tmp_path / "palette.png", data))
    assert loaded.image.getpixel((0, 0)) == WHITE
    assert loaded.image.getpixel((2, 2)) == GREEN


@pytest.mark.parametrize(
    ("mode", "fill", "fmt", "expected"),
    [
        ("L", 128, "PNG", (128, 128, 128)),
        ("1", 1, "PNG", WHITE),
        ("1", 0, "BMP", (0, 0, 0)),
        ("CMYK", (0, 255, 255, 0), "JPEG", RED),
        ("RGB", BLUE, "BMP", BLUE),
        ("RGB", GREEN, "TIFF", GREEN),
        ("RGB", RED, "WEBP", RED),
        ("LA", (0, 0), "PNG", WHITE),
    ],
)
def test_modes_and_formats_become_rgb(
    tmp_path: Path, mode: str, fill: object, fmt: str, expected: tuple[int, int, int]
) -> None:
    params = {"lossless": True} if fmt == "WEBP" else {}
    data = encode(Image.new(mode, (8, 6), fill), fmt, **params)
    loaded = load_image(write(tmp_path / f"image.{fmt.lower()}", data))
    assert loaded.image.mode == "RGB"
    assert loaded.size == (8, 6)
    assert loaded.format == fmt
    assert loaded.extension == {"JPEG": "jpg"}.get(fmt, fmt.lower())
    assert close_to(loaded.image.getpixel((4, 3)), expected, 10)


def test_16_bit_png_is_stretched_not_saturated(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (4, 1))
    loaded = load_image(write(tmp_path / "deep.png", encode(Image.fromarray(ramp), "PNG")))
    grey = np.asarray(loaded.image)[..., 0]
    assert grey.min() == 0 and grey.max() == 255
    assert 120 <= grey[0, 128] <= 135  # the middle of the ramp is mid-grey, not white
    assert len(np.unique(grey)) > 200


def test_float_tiff_is_stretched_by_its_range(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(-1.0, 3.0, 100, dtype=np.float32), (5, 1))
    loaded = load_image(write(tmp_path / "float.tiff", encode(Image.fromarray(ramp, mode="F"), "TIFF")))
    grey = np.asarray(loaded.image)[..., 0]
    assert (grey.min(), grey.max()) == (0, 255)
    assert loaded.format == "TIFF"


@pytest.mark.parametrize(("mode", "dtype"), [("I;16B", ">u2"), ("I", "<i4")])
def test_to_rgb_wide_greyscale_modes(mode: str, dtype: str) -> None:
    values = np.array([[0, 1000, 40000]], dtype=dtype)
    image = Image.frombytes(mode, (3, 1), values.tobytes())
    assert np.asarray(to_rgb(image))[0, :, 0].tolist() == [0, 6, 255]


def test_to_rgb_other_modes_and_rgb_passthrough() -> None:
    rgb = Image.new("RGB", (2, 2), RED)
    assert to_rgb(rgb) is rgb
    keyed = Image.new("RGB", (2, 2), RED)
    keyed.info["transparency"] = RED  # a PNG tRNS colour key
    assert to_rgb(keyed).getpixel((0, 0)) == WHITE
    assert close_to(to_rgb(Image.new("RGB", (2, 2), RED).convert("YCbCr")).getpixel((0, 0)), RED, 3)
    assert to_rgb(Image.new("PA", (2, 2), (0, 0))).getpixel((0, 0)) == WHITE
    assert to_rgb(Image.new("I;16", (2, 2), 300)).mode == "RGB"  # flat image: no division by zero


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animations_give_their_first_frame(tmp_path: Path, fmt: str) -> None:
    frames = [Image.new("RGB", (10, 10), colour) for colour in (RED, GREEN, BLUE)]
    params = {"lossless": True} if fmt == "WEBP" else {}
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, **params)
    loaded = load_image(write(tmp_path / f"animated.{fmt.lower()}", data))
    assert close_to(loaded.image.getpixel((5, 5)), RED, 5)


@pytest.mark.parametrize(("orientation", "size", "red_corner"), [(1, (120, 80), (5, 5)), (6, (80, 120), (74, 5))])
def test_heic_round_trip(
    tmp_path: Path,
    marked_photo: Image.Image,
    orientation: int,
    size: tuple[int, int],
    red_corner: tuple[int, int],
) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    pillow_heif.from_pillow(marked_photo).save(buffer, quality=90, exif=exif.tobytes())
    loaded = load_image(write(tmp_path / "IMG_0001.HEIC", buffer.getvalue()))
    assert (loaded.format, loaded.extension, loaded.size) == ("HEIF", "heic", size)  # rotated once, not twice
    assert close_to(loaded.image.getpixel(red_corner), RED, 60)


def test_pillow_size_warning_refuses_and_filters_stay_put(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marked_photo: Image.Image
) -> None:
    # A TIFF checks its strip size against Pillow's own limit while loading: that warning refuses.
    load_image(encode(marked_photo.resize((4, 3)), "PNG"))  # the process-wide policy is in place
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)  # 120x80 = 9600: a warning, not an error
    filters = list(warnings.filters)
    with pytest.raises(ImageError, match=r"^big\.tiff: too many pixels"):
        load_image(write(tmp_path / "big.tiff", encode(marked_photo, "TIFF")))
    assert list(warnings.filters) == filters  # loading never edits the global filters once set
    assert load_image(encode(marked_photo.resize((40, 30)), "TIFF")).size == (40, 30)


def test_permission_denied_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Also covered for real by the "unreadable" case below (chmod 000, or /proc/self/mem as root).
    path = write(tmp_path / "secret.jpg", _noisy_jpeg())

    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(ImageError, match=r"^secret\.jpg: permission denied"):
        load_image(path)


def test_display_name_replaces_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=r"^backup\.zip:images/ab\.png: empty file"):
        load_image(b"", name="backup.zip:images/ab.png")
    with pytest.raises(ImageError, match=r"^Holiday photo: file not found"):
        load_image(tmp_path / "x.jpg", name="Holiday photo")
    with pytest.raises(ImageError, match=r"^image: a text file"):
        load_image(b"hello")


def test_pillow_global_state_is_left_alone(tmp_path: Path, marked_photo: Image.Image) -> None:
    load_image(encode(marked_photo, "PNG"))  # the process-wide policy (set once) is in place
    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES, list(warnings.filters))
    load_image(encode(marked_photo, "PNG"))
    with pytest.raises(ImageError):
        load_image(encode(marked_photo, "PNG")[:300])
    assert (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES, list(warnings.filters)) == before
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert MAX_PIXELS == 200_000_000 and MAX_FILE_BYTES == 256 * 1024 * 1024


def test_a_replaced_image_open_is_not_used(monkeypatch: pytest.MonkeyPatch, marked_photo: Image.Image) -> None:
    # Other packages swap PIL.Image.open globally (ultralytics wraps it to pip-install a plugin).
    def hijacked(*args: object, **kwargs: object) -> None:
        raise AssertionError("the global Image.open was called")

    monkeypatch.setattr(Image, "open", hijacked)
    assert load_image(encode(marked_photo, "PNG")).size == (120, 80)
    with pytest.raises(ImageError, match="not an image"):
        load_image(b"\x00\x01garbage" * 10, name="x.bin")


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's TIFF plugin comments on the damage
def test_damaged_copies_fail_only_with_image_error(marked_photo: Image.Image) -> None:
    # A cheap fuzz: every flipped byte either still decodes or gives a one-line ImageError.
    rng = np.random.default_rng(7)
    for fmt in ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP"):
        good = bytearray(encode(marked_photo.resize((24, 16)), fmt))
        for _ in range(25):
            bad = bytearray(good)
            for at in rng.integers(0, len(bad), size=3):
                bad[at] = int(rng.integers(0, 256))
            try:
                assert load_image(bytes(bad), name="fuzz").image.mode == "RGB"
            except ImageError as exc:
                assert str(exc).startswith("fuzz: ") and "\n" not in str(exc)


# --- crops, boxes, thumbnails -------------------------------------------------------------------


def test_crop_box_clips_and_whole_image() -> None:
    image = Image.new("RGB", (100, 50), RED)
    assert crop_box(image, None) is image
    assert crop_box(image, (10, 10, 30, 20)).size == (20, 10)
    assert crop_box(image, (-20, -5, 500, 500)).size == (100, 50)
    assert crop_box(image, (90.5, 40.2, 120, 60)).size == (10, 10)  # touched pixels, then clipped


@pytest.mark.parametrize(
    "box",
    [
        (10, 10, 10, 20),
        (10, 10, 20, 10),
        (30, 10, 20, 20),
        (200, 0, 300, 50),
        (0, -40, 100, -1),
        (0, 0, float("nan"), 5),
    ],
)
def test_crop_box_rejects_empty_boxes(box: tuple[float, float, float, float]) -> None:
    with pytest.raises(ImageError, match="box"):
        crop_box(Image.new("RGB", (100, 50)), box)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,2,3,4", (1.0, 2.0, 3.0, 4.0)),
        (" 0 , 0.5, 10.25 ,20 ", (0.0, 0.5, 10.25, 20.0)),
        ("0,0,1e3,5", (0, 0, 1000, 5)),
    ],
)
def test_parse_box_good(text: str, expected: tuple[float, float, float, float]) -> None:
    assert parse_box(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "four numbers"),
        ("1,2,3", "four numbers"),
        ("1,2,3,4,5", "four numbers"),
        ("a,b,c,d", "four numbers"),
        ("1;2;3;4", "four numbers"),
        ("1,2,nan,4", "finite"),
        ("-1,2,3,4", "negative"),
        ("5,2,3,4", "X2 > X1"),
        ("1,4,3,4", "Y2 > Y1"),
    ],
)
def test_parse_box_bad(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_box(text)


def test_thumbnail_keeps_aspect_and_never_enlarges() -> None:
    image = Image.new("RGB", (400, 100))
    small = thumbnail(image, 100)
    assert small.size == (100, 25) and image.size == (400, 100)
    assert thumbnail(image, 1000).size == (400, 100)
    with pytest.raises(ValueError):
        thumbnail(image, 0)


# --- a folder of bad files ----------------------------------------------------------------------

Case = Callable[[Path], tuple[Path, dict]]


def _small_png() -> bytes:
    return encode(Image.new("RGB", (64, 64), GREEN), "PNG")


def _noisy_png() -> bytes:
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    return encode(Image.fromarray(noise), "PNG")


def _noisy_jpeg() -> bytes:
    noise = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    return encode(Image.fromarray(noise), "JPEG")


def _corrupt_idat() -> bytes:
    data = bytearray(_noisy_png())
    at = data.index(b"IDAT") + 20
    data[at : at + 8] = b"\x00" * 8  # data and CRC no longer agree
    return bytes(data)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.png", _small_png())
    return buffer.getvalue()


def _file(name: str, data: bytes, **kwargs: object) -> Case:
    return lambda folder: (write(folder / name, data), kwargs)


def _folder(folder: Path) -> tuple[Path, dict]:
    (folder / "album.jpg").mkdir()
    return folder / "album.jpg", {}


def _fifo(folder: Path) -> tuple[Path, dict]:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no fifos on this platform")
    os.mkfifo(folder / "pipe.jpg")
    return folder / "pipe.jpg", {}


def _unreadable(folder: Path) -> tuple[Path, dict]:
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        path = write(folder / "locked.jpg", _noisy_jpeg())
        path.chmod(0)  # stops everyone but root
        return path, {}
    # root reads a chmod 000 file; /proc/self/mem is a regular file nobody can read from offset 0 (EIO)
    mem = Path("/proc/self/mem")
    if not mem.is_file():
        pytest.skip("Windows, or root without Linux /proc")
    return mem, {}


def _dangling_link(folder: Path) -> tuple[Path, dict]:
    (folder / "link.jpg").symlink_to(folder / "gone.jpg")
    return folder / "link.jpg", {}


BAD: dict[str, tuple[Case, tuple[str, ...]]] = {
    "empty": (_file("empty.jpg", b""), ("empty",)),
    "text": (_file("notes.txt", b"shopping list:\n- milk\n- eggs\n"), ("text file",)),
    "random": (_file("random.bin", np.random.default_rng(3).bytes(2048)), ("not an image",)),
    "html": (_file("page.html", b"<!DOCTYPE html><html><body><img src=x.jpg></body></html>"), ("html",)),
    "json": (_file("data.json", b'{"image": "holiday.jpg", "w": 10}'), ("json",)),
    "zip": (_file("photos.zip", _zip()), ("zip",)),
    "pdf": (_file("scan.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), ("pdf",)),
    "svg": (_file("logo.svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'), ("svg",)),
    "jpeg-half": (_file("half.jpg", _noisy_jpeg()[: len(_noisy_jpeg()) // 2]), ("truncated",)),
    "png-half": (_file("half.png", _noisy_png()[: len(_noisy_png()) // 2]), ("truncated",)),
    "png-bad-idat": (_file("crc.png", _corrupt_idat()), ("corrupt",)),
    "gif-header": (_file("header.gif", b"GIF89a"), ("damaged",)),
    "folder": (_folder, ("folder",)),
    "missing": (lambda folder: (folder / "missing.jpg", {}), ("not found",)),
    "dangling-link": (_dangling_link, ("not found",)),
    "text-as-jpg": (_file("holiday.jpg", b"this is not really a photo\n"), ("text file",)),
    "huge-dimensions": (_file("huge.png", png_header_only(100_000, 100_000)), ("too many pixels",)),
    "zero-dimensions": (_file("zero.png", png_header_only(0, 0)), ("damaged", "no pixels")),
    "too-many-bytes": (_file("big.png", _small_png(), max_bytes=100), ("too large",)),
    "bytes-too-large": (lambda f: (_small_png(), {"max_bytes": 10, "name": "upload.png"}), ("too large",)),
    "fifo": (_fifo, ("not a regular file",)),
    "unreadable": (_unreadable, ("permission denied", "cannot read")),
    "png-signature-only": (_file("sig.png", b"\x89PNG\r\n\x1a\n"), ("damaged",)),
    "bmp-bogus": (_file("bogus.bmp", b"BM" + b"\xff" * 60), ("damaged",)),
    "tiff-garbage-ifd": (_file("garbage.tiff", b"II*\x00\x08\x00\x00\x00" + b"\xff" * 40), ("damaged",)),
    "webp-header": (_file("header.webp", b"RIFF\x10\x00\x00\x00WEBPVP8 \x04\x00\x00\x00"), ("damaged",)),
    "heic-header": (_file("header.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), ("damaged",)),
    "jpeg-soi-only": (_file("soi.jpg", b"\xff\xd8\xff"), ("damaged",)),
    "psd-not-allowed": (_file("layers.psd", b"8BPS\x00\x01" + b"\x00" * 40), ("not an image",)),
    "bomb": (_file("bomb.png", _small_png(), max_pixels=1000), ("too many pixels",)),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_give_one_clear_image_error(tmp_path: Path, case: str) -> None:
    build, keywords = BAD[case]
    source, kwargs = build(tmp_path)
    label = kwargs.get("name") or Path(source).name
    with pytest.raises(ImageError) as caught:
        load_image(source, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{label}: ")
    reason = message.removeprefix(f"{label}: ").lower()
    assert len(reason) > 5
    assert any(word in reason for word in keywords), message
    assert caught.value.__cause__ is None  # no Pillow traceback chained to what people see


# --- one pixel limit, everywhere, on every thread (issue 13, item 2) -----------------------------


def test_threaded_loads_leave_crops_of_a_108_mp_photo_working() -> None:
    # Reader threads used to enter catch_warnings per decode; racing, they left Pillow's bomb
    # warning turned into an error, and the crop of a 12000x9000 phone photo then failed the run.
    import threading

    data = encode(Image.new("RGB", (400, 400), (1, 2, 3)), "PNG")
    threads = [threading.Thread(target=lambda: [load_image(data) for _ in range(150)]) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    photo = Image.new("L", (12000, 9000))  # 108 MP, a 1-byte mode to keep the test light
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning on stderr either
        assert crop_box(photo, (1, 0, 12000, 9000)).size == (11999, 9000)
        assert crop_box(photo, None) is photo


def test_sizes_around_the_limits_follow_one_rule() -> None:
    # Random sizes near our limit and near Pillow's own thresholds (89.5 MP warns, 179 MP fails by
    # default): a header is refused exactly when it is over our limit, and whatever we accept can be
    # cropped without tripping Pillow (the check crop runs is the one called here).
    rng = np.random.default_rng(13)
    pillow_default = 1024 * 1024 * 1024 // 4 // 3
    for target in (pillow_default, 2 * pillow_default, MAX_PIXELS):
        for _ in range(8):
            pixels = int(target * rng.uniform(0.97, 1.03))
            width = int(rng.integers(2_000, 40_000))
            height = max(1, pixels // width + int(rng.integers(-2, 3)))
            with pytest.raises(ImageError) as caught:
                load_image(png_header_only(width, height))  # no pixel data: refused one way or the other
            over = width * height > MAX_PIXELS
            assert ("too many pixels" in str(caught.value)) == over, (width, height, str(caught.value))
            if not over:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    Image._decompression_bomb_check((width, height))


def test_crop_of_a_196_mp_photo_under_the_limit() -> None:
    photo = Image.new("L", (14000, 14000))  # 196 MP: accepted by the loader (limit 200 MP)
    assert MAX_PIXELS >= 14000 * 14000
    assert crop_box(photo, (10, 10, 13990, 13990)).size == (13980, 13980)  # 195 MP: Pillow refused it


def test_pillow_warnings_on_a_photo_that_loads_stay_quiet() -> None:
    # A truncated EXIF block: Pillow warns "Corrupt EXIF data" while reading the orientation, yet the
    # photo is fine. Nothing may reach stderr on success (the filters are not touched by the test).
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12"
    data = encode(Image.new("RGB", (10, 10), (9, 9, 9)), "JPEG", exif=exif)
    with warnings.catch_warnings(record=True) as seen:
        assert load_image(data).size == (10, 10)
    assert [str(w.message) for w in seen] == []
