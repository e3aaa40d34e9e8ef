"""Evaluation test sets: one folder, one `dataset.json`, image paths relative to the folder.

    {"format": "rap-desktop-eval", "version": 1, "description": "...",
     "concepts": [{"name": "bo", "info": "<bo> is a Shiba Inu.", "category": "dog",
                   "images": ["concepts/c001/0.png", {"path": "concepts/c001/1.jpg", "box": [x1, y1, x2, y2]}],
                   "distractor": false}],
     "photos": [{"image": "photos/p0001.jpg", "concepts": ["bo"], "boxes": {"bo": [x1, y1, x2, y2]}}],
     "recognition": [{"image": "photos/p0001.jpg", "concept": "bo", "answer": true}],
     "qa": [{"image": "photos/p0001.jpg" | null, "concept": "bo", "question": "What is <bo>'s breed?",
             "options": {"A": "Corgi", "B": "Shiba inu"}, "answer": "B"}],
     "captions": [{"image": "photos/p0001.jpg", "text": "<bo> on a sofa."}],
     "notes": {...}}

`photos` (labelled with every concept they show) drive the caption and retrieval scores; recognition
items default to every (photo, concept) pair when the list is absent. A distractor concept goes into
the database but is never asked about. A missing image file is not an error here: the runner skips
the items that need it and says how many (imported reference sets often come without their photos).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .. import names
from ..errors import RapError
from ..fsutil import read_json, write_atomic

FORMAT = "rap-desktop-eval"
VERSION = 1
FILE = "dataset.json"
MAX_JSON_BYTES = 256 * 1024 * 1024
Box = tuple[float, float, float, float]


class DatasetError(RapError):
    """A test set that cannot be used as it is."""


@dataclass(frozen=True)
class ConceptImage:
    path: str  # relative to the dataset folder, '/'-separated
    box: Box | None = None


@dataclass(frozen=True)
class EvalConcept:
    name: str
    info: str = ""
    category: str = ""
    images: tuple[ConceptImage, ...] = ()
    distractor: bool = False


@dataclass(frozen=True)
class EvalPhoto:
    image: str
    concepts: tuple[str, ...]
    boxes: Mapping[str, Box] = field(default_factory=dict)


@dataclass(frozen=True)
class RecognitionItem:
    image: str
    concept: str
    answer: bool


@dataclass(frozen=True)
class QAItem:
    image: str | None  # None: a text-only question
    concept: str
    question: str
    options: Mapping[str, str]
    answer: str


@dataclass(frozen=True)
class Dataset:
    root: Path
    concepts: tuple[EvalConcept, ...]
    photos: tuple[EvalPhoto, ...] = ()
    recognition: tuple[RecognitionItem, ...] = ()  # empty: derived from photos
    qa: tuple[QAItem, ...] = ()
    captions: tuple[tuple[str, str], ...] = ()  # (image, reference caption)
    description: str = ""
    notes: Mapping[str, object] = field(default_factory=dict)

    def path(self, relative: str) -> Path:
        return self.root.joinpath(*PurePosixPath(relative).parts)

    def exists(self, relative: str | None) -> bool:
        return relative is None or self.path(relative).is_file()

    def concept(self, name: str) -> EvalConcept | None:
        key = names.name_key(name)
        return next((c for c in self.concepts if c.name.casefold() == key), None)

    @property
    def targets(self) -> tuple[EvalConcept, ...]:
        """The concepts asked about (not distractors)."""
        return tuple(c for c in self.concepts if not c.distractor)

    def recognition_items(self) -> tuple[RecognitionItem, ...]:
        """The listed items, or every (photo, target concept) pair: yes when the photo shows it."""
        if self.recognition:
            return self.recognition
        return tuple(
            RecognitionItem(p.image, c.name, c.name.casefold() in {n.casefold() for n in p.concepts})
            for p in self.photos
            for c in self.targets
        )

    def missing_images(self) -> list[str]:
        used = [i.path for c in self.concepts for i in c.images] + [p.image for p in self.photos]
        used += [r.image for r in self.recognition] + [q.image for q in self.qa if q.image]
        return sorted({u for u in used if not self.exists(u)})


# --- reading -------------------------------------------------------------------------------------


def _rel(raw: object, where: str) -> str:
    """A safe relative path: no absolute paths, drive letters or '..' (a test set never reads
    outside its folder)."""
    if not isinstance(raw, str) or not raw.strip() or "\x00" in raw:
        raise DatasetError(f"{where}: bad image path {raw!r}")
    path = PurePosixPath(raw.replace("\\", "/"))
    parts = [p for p in path.parts if p not in (".", "")]
    if path.is_absolute() or ".." in parts or not parts or ":" in parts[0]:
        raise DatasetError(f"{where}: image path {raw!r} must stay inside the dataset folder")
    return "/".join(parts)


def _box(raw: object, where: str) -> Box | None:
    if raw is None:
        return None
    if not isinstance(raw, Sequence) or len(raw) != 4 or not all(isinstance(v, int | float) for v in raw):
        raise DatasetError(f"{where}: a box is [x1, y1, x2, y2] in pixels, got {raw!r}")
    x1, y1, x2, y2 = (float(v) for v in raw)
    if x2 <= x1 or y2 <= y1:
        raise DatasetError(f"{where}: box {raw!r} has no area")
    return (x1, y1, x2, y2)


def _concept(raw: object, i: int) -> EvalConcept:
    where = f"concepts[{i}]"
    if not isinstance(raw, Mapping):
        raise DatasetError(f"{where} must be an object")
    name = names.clean_name(str(raw.get("name", "")))
    images = []
    for j, item in enumerate(raw.get("images") or []):
        if isinstance(item, Mapping):
            images.append(ConceptImage(_rel(item.get("path"), f"{where}.images[{j}]"), _box(item.get("box"), where)))
        else:
            images.append(ConceptImage(_rel(item, f"{where}.images[{j}]")))
    return EvalConcept(
        name, str(raw.get("info") or ""), str(raw.get("category") or ""), tuple(images), bool(raw.get("distractor"))
    )


def _known(name: object, keys: set[str], where: str) -> str:
    shown = names.clean_name(str(name))
    if shown.casefold() not in keys:
        raise DatasetError(f"{where}: {names.tag(shown)} is not one of the dataset's concepts")
    return shown


def _items(data: Mapping, key: str) -> list:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise DatasetError(f"'{key}' must be a list")
    return value


def parse_dataset(data: object, root: Path) -> Dataset:
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise DatasetError(f'not a test set: {FILE} must be an object with "format": "{FORMAT}"')
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise DatasetError(f"test set version {data.get('version')!r} is newer than this app reads ({VERSION})")
    concepts = [_concept(c, i) for i, c in enumerate(_items(data, "concepts"))]
    keys = [c.name.casefold() for c in concepts]
    if len(set(keys)) != len(keys):
        raise DatasetError("a concept name is given twice")
    known = set(keys)
    photos = []
    for i, p in enumerate(_items(data, "photos")):
        where = f"photos[{i}]"
        labels = tuple(_known(n, known, where) for n in (p.get("concepts") or []))
        boxes = {_known(n, known, where): _box(b, where) for n, b in (p.get("boxes") or {}).items()}
        photos.append(EvalPhoto(_rel(p.get("image"), where), labels, boxes))
    recognition = []
    for i, r in enumerate(_items(data, "recognition")):
        where = f"recognition[{i}]"
        if not isinstance(r.get("answer"), bool):
            raise DatasetError(f"{where}: 'answer' must be true or false")
        recognition.append(
            RecognitionItem(_rel(r.get("image"), where), _known(r.get("concept"), known, where), r["answer"])
        )
    qa = []
    for i, q in enumerate(_items(data, "qa")):
        where = f"qa[{i}]"
        options = q.get("options")
        if not isinstance(options, Mapping) or not options or any(not re.fullmatch(r"[A-Z]", k) for k in options):
            raise DatasetError(f"{where}: 'options' must map single capital letters to answers")
        if q.get("answer") not in options:
            raise DatasetError(f"{where}: 'answer' must be one of {', '.join(options)}")
        if not str(q.get("question") or "").strip():
            raise DatasetError(f"{where}: the question is empty")
        image = None if q.get("image") is None else _rel(q.get("image"), where)
        concept = _known(q.get("concept"), known, where)
        qa.append(QAItem(image, concept, str(q["question"]), {k: str(v) for k, v in options.items()}, q["answer"]))
    captions = tuple((_rel(c.get("image"), "captions"), str(c.get("text") or "")) for c in _items(data, "captions"))
    return Dataset(
        root,
        tuple(concepts),
        tuple(photos),
        tuple(recognition),
        tuple(qa),
        captions,
        str(data.get("description") or ""),
        dict(data.get("notes") or {}),
    )


def load_dataset(folder: str | Path) -> Dataset:
    folder = Path(folder)
    path = folder / FILE if folder.is_dir() else folder
    if not path.is_file():
        raise DatasetError(f"{folder} is not a test set (no {FILE}); see README, 'Evaluate'")
    data = read_json(path, MAX_JSON_BYTES, "a test set", DatasetError)
    try:
        return parse_dataset(data, path.parent)
    except (AttributeError, TypeError) as exc:  # a list where an object belongs, and the like
        raise DatasetError(f"{path}: malformed entry ({exc})") from None


# --- writing -------------------------------------------------------------------------------------


def dataset_dict(ds: Dataset) -> dict:
    def image(i: ConceptImage):
        return {"path": i.path, "box": list(i.box)} if i.box else i.path

    return {
        "format": FORMAT,
        "version": VERSION,
        "description": ds.description,
        "concepts": [
            {
                "name": c.name,
                "info": c.info,
                "category": c.category,
                "images": [image(i) for i in c.images],
                **({"distractor": True} if c.distractor else {}),
            }
            for c in ds.concepts
        ],
        "photos": [
            {
                "image": p.image,
                "concepts": list(p.concepts),
                **({"boxes": {k: list(b) for k, b in p.boxes.items()}} if p.boxes else {}),
            }
            for p in ds.photos
        ],
        "recognition": [{"image": r.image, "concept": r.concept, "answer": r.answer} for r in ds.recognition],
        "qa": [
            {
                "image": q.image,
                "concept": q.concept,
                "question": q.question,
                "options": dict(q.options),
                "answer": q.answer,
            }
            for q in ds.qa
        ],
        "captions": [{"image": i, "text": t} for i, t in ds.captions],
        "notes": dict(ds.notes),
    }


def write_dataset(ds: Dataset) -> Path:
    """Write `dataset.json` into ds.root (atomically), after checking it reads back."""
    doc = dataset_dict(ds)
    parse_dataset(doc, ds.root)  # never write what load_dataset would refuse
    ds.root.mkdir(parents=True, exist_ok=True)
    path = ds.root / FILE
    write_atomic(path, (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    return path
