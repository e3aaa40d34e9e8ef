"""The one safe image loader (size limits, format allow-list, EXIF orientation, RGB), hashing, crops.

Every photo the app reads goes through `load_image`: a bad file fails with one ImageError line naming it."""

from __future__ import annotations

import codecs
import dataclasses
import functools
import hashlib
import io
import math
import os
import re
import stat
import struct
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .errors import ImageError

MAX_FILE_BYTES: int = 256 * 1024 * 1024  # refuse bigger files before decoding
MAX_PIXELS: int = 200_000_000  # decompression-bomb limit (width*height), checked from the header before decoding

# Photo formats only: Pillow also opens EPS (runs Ghostscript), FITS, PSD... which no photo needs.
# (The JPEG opener also returns MPO, the multi-picture JPEG many cameras write.)
# The one list of photo file extensions: what the album indexes from a folder, what a dropped folder
# opens and what the file dialogs offer (a file picked or dropped by itself is always tried).
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".heif", ".avif"}
)
_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "HEIF", "AVIF")
_EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "HEIF": "heic", "TIFF": "tiff"}
# Magic numbers, to call a file "damaged PNG" or "a PDF" rather than just "not an image".
_MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG", b"GIF8": "GIF", b"BM": "BMP", b"II*\x00": "TIFF"}
_MAGIC |= {b"MM\x00*": "TIFF", b"%PDF": "PDF", b"PK\x03\x04": "ZIP", b"PK\x05\x06": "ZIP"}
_NOT_IMAGES = {"PDF": "a PDF document, not an image", "ZIP": "a zip archive, not an image"}
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning, MemoryError)


# Pillow's warnings, process-wide: its bomb warning is an error (a frame or page over the limit is
# refused, not printed); its other warnings (odd EXIF, palette transparency) are noise on a photo
# that loaded fine. The first entry wins, so the error comes first.
_FILTERS = (
    ("error", None, Image.DecompressionBombWarning, None, 0),
    ("ignore", None, Warning, re.compile(r"PIL(\.|$)"), 0),  # as warnings.filterwarnings(module=...) writes it
)
_policy_lock = threading.Lock()


def _pillow_policy() -> None:
    """Set once at import, never per call: warnings filters are global, and the catch_warnings each
    decode used to enter raced between reader threads (a filter leaked, a 108-MP photo failed).
    Pillow's own pixel limit becomes ours, so crops of any photo we accepted never trip it."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    _ensure_filters()


def _ensure_filters() -> None:
    # Checked on each load (cheap): a caller's catch_warnings block restores the list it saved,
    # which may predate ours (pytest does this around collection).
    if all(item in warnings.filters for item in _FILTERS):
        return
    with _policy_lock:
        for action, _, category, module, _ in reversed(_FILTERS):
            warnings.filterwarnings(action, category=category, module=module.pattern if module else "")


_pillow_policy()


@dataclass(frozen=True)
class LoadedImage:
    image: Image.Image  # RGB, EXIF orientation applied, fully loaded (file closed)
    sha256: str  # hex sha256 of the original file bytes
    data: bytes = field(repr=False)  # the original file bytes (as read); never in a repr/traceback
    format: str  # Pillow format name, e.g. "JPEG", "PNG", "HEIF", "WEBP"
    extension: str  # canonical lowercase extension for storing: "jpg", "png", "heic", ...
    # A working decode (`load_working`): `image` is the photo reduced `scale` times; boxes and sizes
    # stay in the original photo's pixels (`size`), `crop_original` maps them onto `image`.
    scale: float = 1.0  # original pixels per pixel of `image`
    original_size: tuple[int, int] | None = None  # the full photo's oriented size, when reduced
    _finer: dict = field(default_factory=dict, repr=False, compare=False)  # finer decodes, made on demand

    @property
    def size(self) -> tuple[int, int]:
        """The photo's own (oriented) size in pixels, whatever resolution `image` was decoded at."""
        return self.original_size or self.image.size


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """The file's content hash, read in chunks (nothing kept): the name the store gives its copy."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@functools.cache
def _allowed_formats() -> tuple[str, ...]:
    # Lazily, once: load Pillow's plugins and add HEIF; only ask for what this build can open.
    Image.init()
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:  # HEIC then reads as "damaged or unsupported"; everything else still works
        pass
    return tuple(f for f in _FORMATS if f in Image.OPEN)


def _one_line(text: object, limit: int = 160) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _fail(label: str, reason: str) -> ImageError:
    return ImageError(f"{_one_line(label)}: {reason}")


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n} bytes"


def read_file(path: str, label: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes`; anything else is an ImageError naming `label`."""
    not_regular = "not a regular file (a pipe, device or socket)"
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise _fail(label, "is a folder, not an image file")
        if not stat.S_ISREG(info.st_mode):
            raise _fail(label, not_regular)
        if info.st_size > max_bytes:
            raise _fail(label, f"file too large ({_size(info.st_size)}; the limit is {_size(max_bytes)})")
        # O_NONBLOCK: if the path was swapped for a fifo since stat(), opening must not hang.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise _fail(label, not_regular)
            data = handle.read(max_bytes + 1)  # +1: a file that grew since stat() is still caught
    except (FileNotFoundError, NotADirectoryError):
        missing = "a broken link (what it points to is not found)" if os.path.islink(path) else "file not found"
        raise _fail(label, missing) from None
    except PermissionError:
        raise _fail(label, "permission denied (cannot read the file)") from None
    except OSError as exc:
        raise _fail(label, f"cannot read the file ({_one_line(exc.strerror or exc)})") from None
    if len(data) > max_bytes:
        raise _fail(label, f"file too large (the limit is {_size(max_bytes)})")
    return data


def _not_an_image_reason(data: bytes) -> str:
    """Why no allowed format could read these bytes, in words a person understands."""
    head = data[:4096]
    fmt = next((f for magic, f in _MAGIC.items() if head.startswith(magic)), None)
    fmt = fmt or ("WEBP" if head[:4] == b"RIFF" and head[8:12] == b"WEBP" else None)
    fmt = fmt or ("HEIC/AVIF" if head[4:8] == b"ftyp" else None)
    if fmt:
        return _NOT_IMAGES.get(fmt) or f"damaged or unsupported {fmt} file (its header cannot be read)"
    try:  # incremental: a multi-byte character cut at 4096 bytes still counts as text
        text = codecs.getincrementaldecoder("utf-8")().decode(head) if b"\x00" not in head else None
    except UnicodeDecodeError:
        text = None
    if text is None:
        return "not an image file (unrecognised format)"
    text = text.lstrip("\ufeff \t\r\n").lower()
    if "<svg" in text:
        return "an SVG drawing, not a photo (SVG is not supported)"
    if text.startswith(("<!doctype html", "<html")) or "<html" in text[:512]:
        return "a web page (HTML), not an image"
    return "a text file (JSON), not an image" if text.startswith(("{", "[")) else "a text file, not an image"


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB; transparency goes on white. An RGB image is returned as is."""
    mode = image.mode
    if mode == "RGB" and "transparency" not in image.info:
        return image
    if mode.startswith("I") or mode == "F":
        return _stretch_to_8bit(image).convert("RGB")
    if mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")  # 1, L, P, CMYK, YCbCr, LAB, HSV


def _stretch_to_8bit(image: Image.Image) -> Image.Image:
    # 16-bit / 32-bit / float greyscale: map the actual min..max onto 0..255 (plain clipping to
    # 255 turns a normal 16-bit photo all white).
    try:
        values = np.asarray(image, dtype=np.float64)
    except (TypeError, ValueError):  # an exotic I;16 variant numpy cannot view directly
        values = np.asarray(image.convert("I"), dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return Image.new("L", image.size, 0)
    lo, hi = float(values[finite].min()), float(values[finite].max())
    values = np.where(finite, values, lo)
    if hi > lo:
        scaled = (values - lo) * (255.0 / (hi - lo))
    else:  # a flat image: keep its level relative to the type's nominal range
        nominal = 65535.0 if image.mode.startswith("I;16") else 255.0
        scaled = np.full_like(values, min(max(hi, 0.0), nominal) * 255.0 / nominal)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


def identify(data: bytes, label: str) -> Image.Image:
    """The image in `data`, opened lazily (nothing decoded yet) with an allowed format only."""
    # Pillow's own open loop, over our allow-list only: `Image.open` itself is global state that
    # other packages replace (ultralytics swaps in a wrapper that pip-installs a plugin on any
    # unidentified file), and it applies Pillow's global pixel limit instead of ours.
    stream, prefix = io.BytesIO(data), data[:16]
    for fmt in _allowed_formats():
        factory, accept = Image.OPEN[fmt]
        verdict = accept(prefix) if accept else True
        if not verdict or isinstance(verdict, str):  # a str means "known, but not in this build"
            continue
        stream.seek(0)
        try:
            return factory(stream, "")
        except (SyntaxError, IndexError, TypeError, struct.error):  # not this format after all
            continue
        except _BOMB:
            raise
        except Exception as exc:  # the plugin knows the format but cannot read this header
            raise _fail(label, f"damaged {fmt} file ({_one_line(exc, 100)})") from None
    raise _fail(label, _not_an_image_reason(data))


# A working decode keeps at least this many pixels: twice the detector's 640-px letterbox on the long
# side and twice CLIP-L/336's input on the short side, so the models never see an upsampled photo.
WORKING_LONG_SIDE: int = 1280
WORKING_SHORT_SIDE: int = 672
_DCT_FORMATS = ("JPEG", "MPO")  # libjpeg decodes these at 1/2, 1/4 or 1/8 scale directly


def working_factor(width: float, height: float, long_side: int, short_side: int, *, powers_of_two: bool) -> int:
    """The largest reduction (1 = none) that leaves at least `long_side` x `short_side` pixels;
    JPEG's decoder can only reduce by 2, 4 or 8."""
    factor = 1
    while factor < 8:
        nxt = factor * 2 if powers_of_two else factor + 1
        if max(width, height) / nxt < long_side or min(width, height) / nxt < short_side:
            break
        factor = nxt
    return factor


class _Reduce:
    """One reduced decode: the factor is picked from the header's size; JPEG reduces inside the
    decoder (DCT scaling: `draft`, a fraction of the full decode's work), other formats (PNG, HEIC,
    AVIF, WebP: their libraries decode only at full size) by one box-filter reduction afterwards."""

    def __init__(self, long_side: int, short_side: int, factor: int | None = None) -> None:
        self.long_side, self.short_side, self.factor = long_side, short_side, factor
        self.wanted = 1
        self.scale = 1.0  # original pixels per decoded pixel
        self.header = (0, 0)
        self.original = (0, 0)

    def before_load(self, image: Image.Image) -> None:
        self.header = image.size
        dct = image.format in _DCT_FORMATS
        self.wanted = self.factor or working_factor(*image.size, self.long_side, self.short_side, powers_of_two=dct)
        if dct and self.wanted > 1:
            result = image.draft(image.mode, (image.size[0] // self.wanted, image.size[1] // self.wanted))
            if result is not None:  # the box is the full image in decoded pixels: its exact scale
                self.scale = self.header[0] / result[1][2]

    def after_load(self, image: Image.Image, oriented: Image.Image, rgb: Image.Image) -> Image.Image:
        swapped = oriented.size != image.size  # EXIF orientation 5-8 turns the photo a quarter
        self.original = (self.header[1], self.header[0]) if swapped else self.header
        if self.scale == 1.0 and self.wanted > 1:
            rgb = rgb.reduce(self.wanted)  # after orientation: the blocks start at the photo's top left
            self.scale = float(self.wanted)
        return rgb


def _decode(data: bytes, label: str, max_pixels: int, reduce: _Reduce | None = None) -> tuple[Image.Image, str]:
    # Pillow's size warning (a frame, tile or MPO page over the limit) is an error: see _pillow_policy.
    with identify(data, label) as image:
        width, height = image.size
        if width <= 0 or height <= 0:
            raise _fail(label, f"image has no pixels ({width}x{height})")
        if width * height > max_pixels:  # from the header: nothing allocated yet
            raise _fail(label, f"too many pixels ({width}x{height}; the limit is {max_pixels:,} pixels)")
        if reduce is not None:
            reduce.before_load(image)
        try:
            image.load()  # first frame only for animations; LOAD_TRUNCATED_IMAGES stays False
        except _BOMB:
            raise
        except Exception as exc:
            raise _fail(label, f"truncated or corrupt image data ({_one_line(exc, 100)})") from None
        if image.size[0] * image.size[1] > max_pixels:  # a frame bigger than the header said
            raise _fail(label, f"too many pixels ({image.size[0]}x{image.size[1]})")
        try:
            oriented = ImageOps.exif_transpose(image)
        except Exception:  # a broken EXIF block must not cost a good photo: keep it unrotated
            oriented = image
        try:
            rgb = to_rgb(oriented)
        except Exception as exc:
            raise _fail(label, f"unsupported colour mode {image.mode} ({_one_line(exc, 100)})") from None
        if reduce is not None:
            rgb = reduce.after_load(image, oriented, rgb)
        return (image.copy() if rgb is image else rgb), image.format or "unknown"  # closing drops pixels


def load_image(
    source: str | os.PathLike[str] | bytes,
    *,
    name: str | None = None,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_FILE_BYTES,
    sha256: str | None = None,
    _reduce: _Reduce | None = None,
) -> LoadedImage:
    """Read, check and decode one photo. Any problem raises ImageError naming the file and the reason.
    `sha256`: the bytes' hash when the caller has it already (a 12-MP JPEG costs ~2 ms to hash)."""
    _ensure_filters()
    if isinstance(source, bytes | bytearray | memoryview):
        data, label = bytes(source), name or "image"
        if len(data) > max_bytes:
            raise _fail(label, f"file too large ({_size(len(data))}; the limit is {_size(max_bytes)})")
    else:
        path = os.fspath(source)
        label = name or os.path.basename(path.rstrip("/\\")) or path or "image"
        data = read_file(path, label, max_bytes)
    if not data:
        raise _fail(label, "empty file (0 bytes)")
    try:
        image, fmt = _decode(data, label, max_pixels, _reduce)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _fail(label, "too many pixels (refused as a possible decompression bomb)") from None
    except MemoryError:
        raise _fail(label, "image too large to decode (out of memory)") from None
    except Exception as exc:  # anything else a plugin throws: keep the reason, not the traceback
        raise _fail(label, f"damaged or unsupported image ({_one_line(exc, 100)})") from None
    extension = _EXTENSIONS.get(fmt, "".join(c for c in fmt.lower() if c.isalnum()) or "bin")
    loaded = LoadedImage(image=image, sha256=sha256 or sha256_bytes(data), data=data, format=fmt, extension=extension)
    if _reduce is not None and _reduce.scale != 1.0:
        loaded = dataclasses.replace(loaded, scale=_reduce.scale, original_size=_reduce.original)
    return loaded


def load_working(
    source: str | os.PathLike[str] | bytes,
    *,
    name: str | None = None,
    long_side: int = WORKING_LONG_SIDE,
    short_side: int = WORKING_SHORT_SIDE,
    max_pixels: int = MAX_PIXELS,
    max_bytes: int = MAX_FILE_BYTES,
    sha256: str | None = None,
) -> LoadedImage:
    """`load_image` at the resolution the models need: a 12-MP JPEG decodes at half size (about a
    third of the time), a small photo as is. Same checks, hash and errors; `size` and every box stay
    in the original photo's pixels (`crop_original`)."""
    reduce = _Reduce(long_side, short_side)
    return load_image(source, name=name, max_pixels=max_pixels, max_bytes=max_bytes, sha256=sha256, _reduce=reduce)


# A region kept as a concept's photo (a confirmed or reassigned region, a tag made a concept): cut from
# a decode that gives it at least EXEMPLAR_MIN_SIDE pixels on its short side where the photo has them
# (RAP shows concepts' photos at up to 672 px), and stored at most EXEMPLAR_MAX_SIDE on its long side.
EXEMPLAR_MIN_SIDE: int = 672
EXEMPLAR_MAX_SIDE: int = 1344


def load_region(
    source: str | os.PathLike[str], box: tuple[float, float, float, float], min_side: int = EXEMPLAR_MIN_SIDE
) -> LoadedImage:
    """The photo decoded once at the smallest scale that still gives the region `box` (original
    photo pixels) `min_side` pixels on its short side: a large region of a 12-MP JPEG comes from a
    half or quarter decode, a small one from the full decode (never both)."""
    width, height = float(box[2]) - float(box[0]), float(box[3]) - float(box[1])
    factor = working_factor(width, height, min_side, min_side, powers_of_two=True)
    return load_image(source, _reduce=_Reduce(0, 0, factor))


def exemplar_crop(
    loaded: LoadedImage, box: tuple[float, float, float, float] | None, min_side: int = EXEMPLAR_MIN_SIDE
) -> Image.Image:
    """What is stored of a region as a concept's photo: its pixels from `loaded` (a finer decode of
    the same bytes where the region is under `min_side` there), at most EXEMPLAR_MAX_SIDE long."""
    return fit_within(crop_original(loaded, box, min_side=min_side), EXEMPLAR_MAX_SIDE)


def working_box(loaded: LoadedImage, box: tuple[float, float, float, float]) -> tuple[float, ...]:
    """A box in the original photo's pixels -> the same box in `loaded.image`'s pixels."""
    return tuple(float(v) / loaded.scale for v in box)


def crop_original(loaded: LoadedImage, box: tuple[float, float, float, float] | None, min_side: int = 0) -> Image.Image:
    """The region `box` (original photo pixels; None = the whole photo) cut from the working image.
    With `min_side`, a region the working image holds in fewer pixels than that on its short side is
    cut from a finer decode of the same bytes instead (made once per photo and factor), so it is not
    upsampled where the original has the pixels."""
    if box is None:
        return loaded.image
    if loaded.scale == 1.0 or not min_side:
        return crop_box(loaded.image, working_box(loaded, box) if loaded.scale != 1.0 else box)
    x1, y1, x2, y2 = (float(v) for v in box)
    factor = int(loaded.scale)
    while factor > 1 and min(x2 - x1, y2 - y1) / factor < min_side:
        factor //= 2
    if factor >= loaded.scale:
        return crop_box(loaded.image, working_box(loaded, box))
    finer = loaded._finer.get(factor)
    if finer is None:
        finer = load_image(loaded.data, name="photo", _reduce=_Reduce(0, 0, factor))
        loaded._finer[factor] = finer  # a dict on a frozen object: a cache, not state
    return crop_box(finer.image, working_box(finer, box) if finer.scale != 1.0 else box)


def fit_within(image: Image.Image, side: int, gap: float = 2.0) -> Image.Image:
    """`image` when its longest side is at most `side`, else a reduced copy (fast: Pillow reduces by
    whole factors first while `gap` times `side` is left, then resamples)."""
    if max(image.size) <= side:
        return image
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.BICUBIC, reducing_gap=gap)
    return copy


def crop_box(image: Image.Image, box: tuple[float, float, float, float] | None) -> Image.Image:
    """The region `box` = (x1, y1, x2, y2) in pixels, clipped to the image; None = the image itself."""
    if box is None:
        return image
    try:
        x1, y1, x2, y2 = (float(v) for v in box)
    except (TypeError, ValueError):
        raise ImageError(f"a box needs four numbers (x1, y1, x2, y2), got {_one_line(repr(box), 80)}") from None
    width, height = image.size
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise ImageError(f"box {box} contains a value that is not a number")
    # Every pixel the box touches, clipped to the image.
    left, top = max(0, math.floor(x1)), max(0, math.floor(y1))
    right, bottom = min(width, math.ceil(x2)), min(height, math.ceil(y2))
    if right <= left or bottom <= top:
        raise ImageError(f"box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) has no area inside the {width}x{height} image")
    if (left, top, right, bottom) == (0, 0, width, height):
        return image  # the whole photo: no copy (and no second pass through Pillow's size check)
    return image.crop((left, top, right, bottom))


def parse_box(text: str) -> tuple[float, float, float, float]:
    """'X1,Y1,X2,Y2' -> four floats; ValueError (a message for people) when it is not a usable box."""
    parts = str(text).split(",")
    try:
        x1, y1, x2, y2 = (float(p) for p in parts) if len(parts) == 4 else ()
    except ValueError:
        raise ValueError(f"a box is X1,Y1,X2,Y2 (four numbers separated by commas), got {text!r}") from None
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise ValueError(f"box values must be finite numbers, got {text!r}")
    if min(x1, y1, x2, y2) < 0:
        raise ValueError(f"box values must not be negative, got {text!r}")
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"box needs X2 > X1 and Y2 > Y1, got {text!r}")
    return (x1, y1, x2, y2)


def thumbnail(image: Image.Image, size: int) -> Image.Image:
    """An aspect-preserving copy whose longest side is at most `size` (never enlarged)."""
    if size < 1:
        raise ValueError(f"thumbnail size must be at least 1 pixel, got {size}")
    copy = image.copy()
    copy.thumbnail((size, size), Image.Resampling.LANCZOS)
    return copy
