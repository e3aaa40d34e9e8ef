"""Make test sets (data.py's folder format) from the Yo'LLaVA evaluation JSONs, a MyVLM-style
folder, or the user's own album (concepts + confirmed matches).

Yo'LLaVA JSONs, as the RAP reference ships them:
- recognition: a list of {"image", "question", "concept", "type", "correct_answer": bool}. Every
  positive is listed twice (once typed "negative"): we de-duplicate by (image, concept) and take the
  class from correct_answer, never from "type".
- visual QA: {concept: {image path: {"question", "options": {"A", "B"}, "correct_answer"}}}
- text-only QA: {concept: {"0": {"question", "option": {...}, "correct_answer"}}}
Questions say "sks" for the concept; it becomes `<name>`. Photos keep their paths under
`images/` (copied there when --images points at them; otherwise the runner skips those items).
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from .. import names, rap_import
from ..errors import RapError
from ..fsutil import read_json
from ..images import load_image
from ..store import Store
from ..store.eval_rows import confirmed_labels
from .data import (
    FILE,
    MAX_JSON_BYTES,
    ConceptImage,
    Dataset,
    DatasetError,
    EvalConcept,
    EvalPhoto,
    QAItem,
    RecognitionItem,
    write_dataset,
)
from .metrics import dedupe_recognition

_SKS = re.compile(r"(?<![\w-])sks(?![\w-])")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".heic", ".heif"}


def _fresh(out: Path) -> Path:
    if (out / FILE).exists():
        raise DatasetError(f"{out} already holds a test set; give another output folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _with_name(text: str, name: str) -> str:
    return _SKS.sub(names.tag(name), text)


def _norm(raw: str) -> str:
    parts = [p for p in PurePosixPath(str(raw).replace("\\", "/")).parts if p not in (".", "/")]
    if not parts or ".." in parts:
        raise DatasetError(f"bad image path {raw!r}")
    return "/".join(parts)


def _answer(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("yes", "true"):
        return True
    if str(value).strip().lower() in ("no", "false"):
        return False
    raise DatasetError(f"recognition answer {value!r} is neither true nor false")


def read_yollava(path: Path) -> tuple[str, list, dict]:
    """(kind, items, counts) of one Yo'LLaVA JSON; kind is recognition | visual_qa | text_qa.
    Image paths are as in the file, normalised ("./a/b.png" -> "a/b.png")."""
    try:
        data = read_json(Path(path), MAX_JSON_BYTES, "a Yo'LLaVA evaluation JSON", DatasetError)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        if isinstance(data, list):
            raw = [
                {
                    "image": _norm(x["image"]),
                    "concept": names.clean_name(x["concept"]),
                    "answer": _answer(x["correct_answer"]),
                    "type": x.get("type"),
                }
                for x in data
            ]
            kept, dropped, conflicts = dedupe_recognition(raw)
            mistyped = sum(
                1 for x in kept if x["type"] in ("positive", "negative") and (x["type"] == "positive") != x["answer"]
            )
            items = [RecognitionItem(x["image"], x["concept"], x["answer"]) for x in kept]
            counts = {
                "listed": len(data),
                "items": len(items),
                "duplicates_dropped": dropped,
                "conflicting_duplicates": conflicts,
                "kept_with_type_contradicting_answer": mistyped,
                "positives": sum(i.answer for i in items),
            }
            return "recognition", items, counts
        if not isinstance(data, dict) or not data:
            raise DatasetError(f"{path}: not a Yo'LLaVA evaluation JSON (a list, or an object keyed by concept)")
        items = []
        kind = ""
        for concept, entries in data.items():
            name = names.clean_name(concept)
            for key, q in entries.items():
                visual = "options" in q
                kind = kind or ("visual_qa" if visual else "text_qa")
                if kind != ("visual_qa" if visual else "text_qa"):
                    raise DatasetError(f"{path}: mixes visual ('options') and text-only ('option') questions")
                options = q["options"] if visual else q["option"]
                items.append(
                    QAItem(
                        _norm(key) if visual else None,
                        name,
                        _with_name(str(q["question"]), name),
                        {str(k): str(v) for k, v in options.items()},
                        str(q["correct_answer"]),
                    )
                )
        return kind, items, {"items": len(items), "concepts": len(data)}
    except (KeyError, TypeError, AttributeError) as exc:
        raise DatasetError(f"{path}: unexpected layout ({type(exc).__name__}: {exc})") from None


def _find(root: Path, rel: str) -> Path | None:
    """`rel` under `root`, as written or without leading components (paths name an old parent)."""
    parts = PurePosixPath(rel).parts
    for start in range(len(parts)):
        candidate = root.joinpath(*parts[start:])
        if candidate.is_file() and candidate.resolve().is_relative_to(root.resolve()):
            return candidate
    return None


def _write_concepts(out: Path, found: Sequence, targets: set[str]) -> list[EvalConcept]:
    """NewConcepts (from a RAP database) -> dataset concepts with their images copied in."""
    concepts = []
    for i, c in enumerate(found, 1):
        folder = out / "concepts" / f"c{i:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        images = []
        for j, ex in enumerate(c.exemplars):
            (folder / f"{j}.{ex.image.extension}").write_bytes(ex.image.data)
            images.append(ConceptImage(f"concepts/c{i:03d}/{j}.{ex.image.extension}", ex.box))
        concepts.append(EvalConcept(c.name, c.info, c.category, tuple(images), c.name.casefold() not in targets))
    return concepts


def import_yollava(
    files: Sequence[Path], out: Path, images_root: Path | None = None, concepts_folder: Path | None = None
) -> Dataset:
    """Yo'LLaVA JSONs (any mix of the three kinds) -> a test set in `out`."""
    recognition: list[RecognitionItem] = []
    qa: list[QAItem] = []
    notes: dict = {"source": "yollava", "files": {}}
    for path in files:
        kind, items, counts = read_yollava(Path(path))
        (recognition if kind == "recognition" else qa).extend(items)
        notes["files"][Path(path).name] = {"kind": kind, **counts}
    _fresh(out)
    asked = {i.concept.casefold(): i.concept for i in [*recognition, *qa]}
    found = rap_import.read_database(concepts_folder) if concepts_folder else []
    concepts = _write_concepts(out, found, set(asked))
    have = {c.name.casefold() for c in concepts}
    concepts += [EvalConcept(asked[k]) for k in sorted(asked) if k not in have]
    notes["concepts_without_images"] = sorted(asked[k] for k in asked if k not in have)
    labels: dict[str, dict[str, str]] = {}
    for r in recognition:
        if r.answer:
            labels.setdefault(r.image, {})[r.concept.casefold()] = r.concept
    for q in qa:
        if q.image:
            labels.setdefault(q.image, {})[q.concept.casefold()] = q.concept
    copied = 0
    for rel in labels.keys() | {r.image for r in recognition}:
        source = _find(images_root, rel) if images_root else None
        if source is not None:
            target = out / "images" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            copied += 1
    notes["photos_copied"] = copied
    prefix = "images/"
    ds = Dataset(
        out,
        tuple(concepts),
        tuple(EvalPhoto(prefix + img, tuple(by.values())) for img, by in sorted(labels.items())),
        tuple(RecognitionItem(prefix + r.image, r.concept, r.answer) for r in recognition),
        tuple(QAItem(prefix + q.image if q.image else None, q.concept, q.question, q.options, q.answer) for q in qa),
        description="imported from Yo'LLaVA evaluation JSONs",
        notes=notes,
    )
    write_dataset(ds)
    return ds


def _read_captions(folder: Path, name: str) -> dict[str, list[str]]:
    path = folder / "captions.json"
    if not path.is_file():
        return {}
    try:
        data = read_json(path, MAX_JSON_BYTES, "a captions file", DatasetError)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    pairs = (
        data.items()
        if isinstance(data, dict)
        else [(d.get("image"), d.get("caption") or d.get("captions")) for d in data]
    )
    out: dict[str, list[str]] = {}
    for image, text in pairs:
        texts = text if isinstance(text, list) else [text]
        out[Path(str(image)).name] = [_with_name(str(t), name) for t in texts if t]
    return out


def import_myvlm(folder: Path, out: Path, train: int = 1) -> Dataset:
    """One sub-folder per concept (images + optional captions.json {image: caption or [captions]}):
    the first `train` images (sorted by name) become the concept's photos, the rest test photos."""
    if not Path(folder).is_dir():
        raise DatasetError(f"{folder} is not a folder")
    if train < 1:
        raise DatasetError("--train must be at least 1: a concept needs a photo")
    subs = sorted(p for p in Path(folder).iterdir() if p.is_dir())
    _fresh(out)
    concepts, photos, captions = [], [], []
    for i, sub in enumerate(subs, 1):
        files = sorted(p for p in sub.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            continue
        try:
            name = names.clean_name(sub.name)
        except RapError as exc:
            raise DatasetError(f"{sub}: the folder name is not a usable concept name ({exc})") from None
        refs = _read_captions(sub, name)
        images = []
        for j, path in enumerate(files):
            loaded = load_image(path)
            rel = (
                f"concepts/c{i:03d}/{j}.{loaded.extension}" if j < train else f"photos/c{i:03d}_{j}.{loaded.extension}"
            )
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(loaded.data)
            if j < train:
                images.append(ConceptImage(rel))
            else:
                photos.append(EvalPhoto(rel, (name,)))
                captions += [(rel, text) for text in refs.get(path.name, [])]
        concepts.append(EvalConcept(name, "", "", tuple(images)))
    if not concepts:
        raise DatasetError(f"{folder} has no concept folders with images")
    ds = Dataset(
        out,
        tuple(concepts),
        tuple(photos),
        captions=tuple(captions),
        description=f"imported from the MyVLM-style folder {Path(folder).name}",
        notes={"source": "myvlm", "train": train},
    )
    write_dataset(ds)
    return ds


def make_split(store: Store, out: Path) -> Dataset:
    """The album as a test set: each concept's own (registered or imported) photos as the concepts,
    the photos with confirmed matches as test photos labelled with the confirmed concepts. A photo
    that is also a concept's photo is left out (it would be found trivially)."""
    rows = confirmed_labels(store)
    if not rows:
        raise DatasetError("no confirmed matches yet: confirm some (rap-desktop match confirm) first")
    exemplars = store.exemplars()
    own = {e.image.split(".")[0] for e in exemplars}
    _fresh(out)
    notes: dict = {"source": "album", "skipped_photos": {"missing": 0, "changed": 0, "concept_photo": 0}}
    by_photo: dict[str, tuple[str, dict[str, tuple]]] = {}
    for path, sha, name, *box in rows:
        by_photo.setdefault(sha, (path, {}))[1][name] = tuple(box)
    photos = []
    for sha, (path, labels) in by_photo.items():
        skip = "concept_photo" if sha in own else "missing" if not path or not Path(path).is_file() else ""
        if not skip and hashlib.sha256(Path(path).read_bytes()).hexdigest() != sha:
            skip = "changed"
        if skip:
            notes["skipped_photos"][skip] += 1
            continue
        rel = f"photos/p{len(photos) + 1:04d}{Path(path).suffix.lower()}"
        (out / "photos").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out / rel)
        photos.append(EvalPhoto(rel, tuple(labels), labels))
    concepts, without = [], []
    for i, c in enumerate(store.list_concepts(), 1):
        mine = [e for e in exemplars if e.concept_id == c.id and e.source != "confirmed"]
        if not mine:
            without.append(c.name)  # only photos cut from test photos: using them would leak the answer
            continue
        images = []
        for j, e in enumerate(mine):
            rel = f"concepts/c{i:03d}/{j}{Path(e.image).suffix}"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(store.image_path(e.image), out / rel)
            images.append(ConceptImage(rel, e.box))
        concepts.append(EvalConcept(c.name, c.info, c.category, tuple(images)))
    kept = {c.name.casefold() for c in concepts}
    photos = [
        EvalPhoto(
            p.image,
            tuple(n for n in p.concepts if n.casefold() in kept),
            {n: b for n, b in p.boxes.items() if n.casefold() in kept},
        )
        for p in photos
    ]
    notes["concepts_without_own_photo"] = without
    if not any(p.concepts for p in photos):
        raise DatasetError("no usable confirmed photo: they are missing, changed, or concept photos themselves")
    ds = Dataset(
        out, tuple(concepts), tuple(photos), description="made from the album's confirmed matches", notes=notes
    )
    write_dataset(ds)
    return ds
