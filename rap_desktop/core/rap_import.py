"""Import a concept database in the RAP reference format.

A folder with `database.json`:
    {"concept_dict": {"<bo>": {"name": "bo", "image": "example_database/bo.png",
                               "info": "<bo> is ...", "category": "dog"}, ...},
     "path_to_concept": {"example_database/bo.png": "<bo>", ...}}
Image paths were written relative to the reference repository, so the first component is often
the database folder's own (old) name; we look for each path inside the folder, never outside it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from . import names
from .errors import RapError
from .fsutil import read_json
from .images import MAX_FILE_BYTES, LoadedImage, load_image, sha256_file
from .store import ImportReport, NewConcept, NewExemplar, Store

MAX_JSON_BYTES = 64 * 1024 * 1024


def _locate(folder: Path, raw: str) -> Path:
    """The file `raw` names inside `folder`; refuses anything that would leave the folder."""
    if not isinstance(raw, str) or not raw or "\x00" in raw:
        raise RapError(f"database.json: bad image path {raw!r}")
    parts = PurePosixPath(raw.replace("\\", "/")).parts
    if PurePosixPath(raw).is_absolute() or ".." in parts or (parts and ":" in parts[0]):
        raise RapError(f"database.json: image path {raw!r} points outside {folder}")
    parts = tuple(p for p in parts if p not in (".", "/"))
    root = folder.resolve()
    # as written, then without leading components (the reference's repo-relative prefix)
    for start in range(len(parts)):
        candidate = root.joinpath(*parts[start:])
        if candidate.is_file():
            if not candidate.resolve().is_relative_to(root):
                raise RapError(f"database.json: image {raw!r} is a link leading outside {folder}")
            return candidate
    raise RapError(f"database.json: image {raw!r} not found in {folder}")


def _text(value: object, path: Path, key: str, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RapError(f"{path}: entry {key!r}: {field} must be text, not {type(value).__name__}")
    return value


def _load(path: Path, decoded: dict[str, LoadedImage]) -> LoadedImage:
    """Each distinct file (by content) is decoded once: links and copies of one photo share it."""
    try:
        sha = sha256_file(path) if path.stat().st_size <= MAX_FILE_BYTES else None
    except OSError:
        sha = None  # load_image says why it cannot be read
    if sha is None or sha not in decoded:
        loaded = load_image(path)
        decoded[loaded.sha256] = loaded
        return loaded
    return decoded[sha]


def read_database(folder: Path) -> list[NewConcept]:
    """Parse and validate the whole folder (names, images) before anything is stored."""
    path = folder / "database.json"
    if not folder.is_dir():
        raise RapError(f"{folder} is not a folder")
    if not path.is_file():
        raise RapError(f"{folder} has no database.json; is it a RAP concept database?")
    data = read_json(path, MAX_JSON_BYTES, "a concept database", RapError)
    if not isinstance(data, dict) or not isinstance(data.get("concept_dict"), dict):
        raise RapError(f"{path} has no 'concept_dict' object")
    extra: dict[str, list[str]] = {}
    path_to_concept = data.get("path_to_concept") or {}
    if not isinstance(path_to_concept, dict):
        raise RapError(f"{path}: 'path_to_concept' must be an object")
    for image, owner in path_to_concept.items():
        if not isinstance(owner, str):
            raise RapError(f"{path}: 'path_to_concept' entry {image!r} must name a concept, not {type(owner).__name__}")
        extra.setdefault(names.name_key(owner), []).append(image)
    concepts = []
    decoded: dict[str, LoadedImage] = {}
    for key, entry in data["concept_dict"].items():
        if not isinstance(entry, dict):
            raise RapError(f"{path}: entry {key!r} is not an object")
        name = names.clean_name(_text(entry.get("name"), path, key, "name") or key)
        main = entry.get("image")
        images = ([main] if main else []) + extra.get(name.casefold(), [])
        unique = list(dict.fromkeys(_locate(folder, p) for p in images))
        if not unique:
            raise RapError(f"{path}: concept {names.tag(name)} has no image")
        loaded = {id(x): x for x in (_load(p, decoded) for p in unique)}  # one exemplar per distinct photo
        exemplars = tuple(NewExemplar(image, source="imported") for image in loaded.values())
        info = _text(entry.get("info"), path, key, "info")
        concepts.append(NewConcept(name, info, _text(entry.get("category"), path, key, "category"), exemplars))
    return concepts


def import_rap(store: Store, folder: Path, skip_existing: bool = False) -> ImportReport:
    return store.import_concepts(read_database(folder), skip_existing)
