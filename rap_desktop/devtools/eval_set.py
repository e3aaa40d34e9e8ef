"""Build a small test set from photos shipped inside installed packages (nothing is downloaded).

    python -m rap_desktop.devtools.eval_set DIR

Four concepts (a cat, a coffee cup, a rocket, an astronaut) registered from their package photo;
test photos are altered copies of those (mirrored, cropped, darkened), two-concept collages with
boxes, and photos with none of them; four more package photos are distractor concepts. A few
visual and text-only multiple-choice questions make the QA task runnable too. The figures it gives
with the tiny random models mean nothing; it exists so every evaluation code path runs offline.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from PIL import Image, ImageEnhance, ImageOps

from rap_desktop.core.eval.data import ConceptImage, Dataset, EvalConcept, EvalPhoto, QAItem, write_dataset

SIDE = 256  # small photos: the set is for plumbing, and tests must stay fast


def package_photos() -> dict[str, Path]:
    import matplotlib
    import skimage

    sk = Path(skimage.__file__).parent / "data"
    spec = importlib.util.find_spec("ultralytics")  # its folder only: importing it changes the environment
    assets = Path(spec.origin).parent / "assets"  # type: ignore[union-attr, arg-type]
    return {
        "cat": sk / "chelsea.png",
        "cup": sk / "coffee.png",
        "rocket": sk / "rocket.jpg",
        "astronaut": sk / "astronaut.png",
        "bus": assets / "bus.jpg",
        "zidane": assets / "zidane.jpg",
        "grace": Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg",
        "motorcycle": sk / "motorcycle_left.png",
        "horse": sk / "horse.png",
        "moon": sk / "moon.png",
    }


TARGETS = {
    "cat": ("<cat> is a tabby cat with green eyes.", "cat"),
    "cup": ("<cup> is a cup of coffee on a saucer.", "cup"),
    "rocket": ("<rocket> is a rocket on its launch pad.", "rocket"),
    "astronaut": ("<astronaut> is an astronaut in a white suit.", "person"),
}
DISTRACTORS = {
    "bus": ("<bus> is a blue city bus.", "bus"),
    "zidane": ("<zidane> is a man in a suit.", "person"),
    "grace": ("<grace> is a woman in a navy uniform.", "person"),
    "motorcycle": ("<motorcycle> is a red motorbike.", "motorcycle"),
}
EMPTY = ("horse", "moon")  # test photos showing none of the concepts


def _open(path: Path) -> Image.Image:
    image = Image.open(path).convert("RGB")
    image.thumbnail((SIDE, SIDE))
    return image


def _variants(image: Image.Image) -> list[Image.Image]:
    w, h = image.size
    return [
        ImageOps.mirror(image),
        image.crop((w // 10, h // 10, w - w // 10, h - h // 10)),
        ImageEnhance.Brightness(image).enhance(0.7),
    ]


def _collage(left: Image.Image, right: Image.Image) -> tuple[Image.Image, list[tuple[float, ...]]]:
    height = max(left.height, right.height)
    canvas = Image.new("RGB", (left.width + right.width, height), (128, 128, 128))
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width, 0))
    return canvas, [(0, 0, left.width, left.height), (left.width, 0, left.width + right.width, right.height)]


def build(out: Path) -> Dataset:
    """Write the test set into `out` (created; must not hold one already)."""
    photos = package_photos()
    missing = [str(p) for p in photos.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"package photos missing: {missing}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "concepts").mkdir(exist_ok=True)
    (out / "photos").mkdir(exist_ok=True)
    concepts = []
    images = {name: _open(photos[name]) for name in [*TARGETS, *DISTRACTORS, *EMPTY]}
    for name, (info, category) in [*TARGETS.items(), *DISTRACTORS.items()]:
        rel = f"concepts/{name}.png"
        images[name].save(out / rel)
        concepts.append(EvalConcept(name, info, category, (ConceptImage(rel),), name in DISTRACTORS))
    test: list[EvalPhoto] = []

    def save(image: Image.Image, labels: tuple[str, ...], boxes=None) -> str:
        rel = f"photos/p{len(test) + 1:02d}.jpg"
        image.save(out / rel, quality=90)
        test.append(EvalPhoto(rel, labels, boxes or {}))
        return rel

    for name in TARGETS:
        for variant in _variants(images[name]):
            save(variant, (name,))
    for a, b in (("cat", "cup"), ("rocket", "astronaut")):
        canvas, boxes = _collage(images[a], images[b])
        save(canvas, (a, b), {a: boxes[0], b: boxes[1]})
    for name in EMPTY:
        save(images[name], ())
    first = {p.concepts[0]: p.image for p in test if len(p.concepts) == 1}
    qa = (
        QAItem(first["cat"], "cat", "What animal is <cat>?", {"A": "A cat", "B": "A dog"}, "A"),
        QAItem(first["cup"], "cup", "What does <cup> hold?", {"A": "Tea leaves", "B": "Coffee"}, "B"),
        QAItem(first["rocket"], "rocket", "Where is <rocket>?", {"A": "On a launch pad", "B": "In a garage"}, "A"),
        QAItem(None, "astronaut", "What does <astronaut> wear?", {"A": "A swimsuit", "B": "A space suit"}, "B"),
        QAItem(None, "cat", "What colour are <cat>'s eyes?", {"A": "Green", "B": "Red"}, "A"),
    )
    ds = Dataset(
        out,
        tuple(concepts),
        tuple(test),
        qa=qa,
        description="generated from package photos by rap_desktop.devtools.eval_set",
        notes={"source": "package photos"},
    )
    write_dataset(ds)
    return ds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="folder to write the test set into")
    args = parser.parse_args(argv)
    ds = build(args.dir)
    print(f"wrote {len(ds.concepts)} concepts, {len(ds.photos)} photos, {len(ds.qa)} questions", file=sys.stderr)
    print(args.dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
