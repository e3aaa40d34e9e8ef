"""A synthetic photo album from photos shipped inside installed packages (nothing fetched).

    python -m rap_desktop.devtools.synthetic_album DIR [--count 2000] [--seed 0] [--bad]

Each file is a distinct variant of a package photo (random crop, flip, size, brightness, JPEG
quality) with an EXIF date, spread over YEAR/MONTH folders, so an album of thousands of files is
realistic enough for indexing, search and benchmarks. `--bad` adds broken files.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import struct
import sys
import zlib
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageEnhance, ImageOps


def source_photos() -> list[Path]:
    """Real photos inside installed packages (scikit-image, ultralytics, matplotlib)."""
    found: list[Path] = []
    try:
        import skimage

        data = Path(skimage.__file__).parent / "data"
        for name in ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png"):
            found.append(data / name)
        found += [data / n for n in ("hubble_deep_field.jpg", "retina.jpg", "motorcycle_right.png")]
    except ImportError:
        pass
    spec = importlib.util.find_spec("ultralytics")  # its folder only: importing it changes the environment
    if spec is not None and spec.origin:
        assets = Path(spec.origin).parent / "assets"
        found += [assets / "bus.jpg", assets / "zidane.jpg"]
    try:
        import matplotlib

        found.append(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")
    except ImportError:
        pass
    found = [p for p in found if p.is_file()]
    if not found:
        raise RuntimeError("no package photos found (install scikit-image, ultralytics or matplotlib)")
    return found


def _variant(image: Image.Image, rng: random.Random, max_side: int) -> Image.Image:
    width, height = image.size
    scale = rng.uniform(0.7, 1.0)
    w, h = max(16, int(width * scale)), max(16, int(height * scale))
    x, y = rng.randint(0, width - w), rng.randint(0, height - h)
    out = image.crop((x, y, x + w, y + h))
    if rng.random() < 0.5:
        out = ImageOps.mirror(out)
    side = rng.randint(max(64, max_side // 2), max_side)
    out.thumbnail((side, side), Image.Resampling.BILINEAR)
    return ImageEnhance.Brightness(out).enhance(rng.uniform(0.8, 1.2))


def make_album(folder: Path, count: int, seed: int = 0, max_side: int = 512) -> list[Path]:
    """Write `count` distinct JPEG variants under folder/YEAR/MONTH/; returns their paths."""
    rng = random.Random(seed)
    sources = []
    for path in source_photos():
        with Image.open(path) as im:
            image = ImageOps.exif_transpose(im).convert("RGB")
        image.thumbnail((max_side * 2, max_side * 2))
        sources.append(image)
    start = datetime(2015, 1, 1)
    written = []
    for i in range(count):
        image = _variant(sources[i % len(sources)], rng, max_side)
        taken = start + timedelta(seconds=rng.randint(0, 10 * 365 * 86400))
        exif = Image.Exif()
        stamp = taken.strftime("%Y:%m:%d %H:%M:%S")
        exif[306] = stamp
        exif.get_ifd(0x8769)[36867] = stamp
        path = folder / f"{taken.year}" / f"{taken.month:02d}" / f"img_{seed}_{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, format="JPEG", quality=rng.randint(80, 92), exif=exif)
        written.append(path)
    return written


def large_photo(source: Image.Image, size: tuple[int, int], seed: int, quality: int = 92) -> Image.Image:
    """A phone-sized photo with a phone photo's entropy: `source` cropped and scaled up to `size`,
    plus fine texture and sensor-like noise (a plain upscale would compress to a fraction of the
    3-5 MB a real 12-MP JPEG has, and decode faster than a real one)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    width, height = size
    src_w, src_h = source.size
    aspect = width / height
    crop_w = min(src_w, round(src_h * aspect))
    crop_h = min(src_h, round(crop_w / aspect))
    x = int(rng.integers(0, src_w - crop_w + 1))
    y = int(rng.integers(0, src_h - crop_h + 1))
    base = source.crop((x, y, x + crop_w, y + crop_h)).resize(size, Image.Resampling.BICUBIC)
    # texture at two scales (a few pixels and tens of pixels) and per-pixel noise
    fine = rng.normal(0.0, 5.0, (height // 4 + 1, width // 4 + 1, 1)).astype(np.float32)
    fine = np.repeat(np.repeat(fine, 4, axis=0), 4, axis=1)[:height, :width]
    noise = rng.normal(0.0, 6.0, (height, width, 3)).astype(np.float32)
    pixels = np.asarray(base, dtype=np.float32) + fine + noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def make_large_album(
    folder: Path, count: int, size: tuple[int, int] = (4000, 3000), seed: int = 0, quality: int = 92
) -> list[Path]:
    """`count` JPEGs of `size` (12 MP by default, 3-5 MB each) made from the package photos; files
    already there are kept, so a cache folder is written once."""
    sources = []
    for path in source_photos():
        with Image.open(path) as im:
            sources.append(ImageOps.exif_transpose(im).convert("RGB"))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for i in range(count):
        path = folder / f"large_{seed}_{size[0]}x{size[1]}_{i:04d}.jpg"
        if not path.is_file():
            image = large_photo(sources[i % len(sources)], size, seed * 100_003 + i)
            exif = Image.Exif()
            stamp = datetime(2020, 1 + i % 12, 1 + i % 28, 12, 0, 0).strftime("%Y:%m:%d %H:%M:%S")
            exif[306] = stamp
            exif.get_ifd(0x8769)[36867] = stamp
            partial = path.with_name(path.name + ".part")
            image.save(partial, format="JPEG", quality=quality, exif=exif)
            partial.replace(path)  # a run killed while writing leaves no broken photo in the cache
        written.append(path)
    return written


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def add_bad_files(folder: Path, good: Path | None = None) -> dict[str, Path]:
    """Broken files an album meets: truncated JPEG, zero bytes, text named .jpg, a PNG whose header
    claims 100000x100000 pixels. `good` is a JPEG to truncate (else one is made)."""
    folder.mkdir(parents=True, exist_ok=True)
    if good is None:
        good = folder / ".source.jpg"
        Image.new("RGB", (64, 64), (200, 100, 50)).save(good, quality=90)
    data = good.read_bytes()
    out = {
        "truncated": folder / "truncated.jpg",
        "empty": folder / "empty.jpg",
        "text": folder / "notes.jpg",
        "huge": folder / "huge.png",
    }
    out["truncated"].write_bytes(data[: len(data) // 3])
    out["empty"].write_bytes(b"")
    out["text"].write_text("shopping list: milk, eggs\n", encoding="utf-8")
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    out["huge"].write_bytes(
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    )
    if good.name == ".source.jpg":
        good.unlink()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--bad", action="store_true", help="add broken files under DIR/bad")
    args = parser.parse_args(argv)
    paths = make_album(args.dir, args.count, args.seed, args.max_side)
    if args.bad:
        add_bad_files(args.dir / "bad", paths[0] if paths else None)
    print(f"wrote {len(paths)} photos under {args.dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
