"""Full backup and restore of the concept store as one zip file.

Layout: `manifest.json` (concepts, exemplars, their embeddings per model as base64 float32) and
`images/<sha256>.<ext>`. Restoring reads the archive through SafeZipReader (no path from the
archive ever touches the file system), checks each image's bytes against its hash, and adds all
concepts in one transaction.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from .. import __version__
from .errors import ArchiveError
from .images import load_image
from .safe_zip import SafeZipReader, write_zip_atomic
from .store import ImportReport, NewConcept, NewExemplar, Store

FORMAT = "rap-desktop-backup"
VERSION = 1
MAX_MANIFEST_BYTES = 256 * 1024 * 1024


def _vectors(store: Store, exemplar_id: int) -> dict[str, str]:
    rows = store.conn.execute("SELECT model, vector FROM embeddings WHERE exemplar_id = ?", (exemplar_id,))
    return {model: base64.b64encode(blob).decode("ascii") for model, blob in rows.fetchall()}


def build_manifest(store: Store) -> dict:
    by_concept: dict[int, list[dict]] = {}
    for ex in store.exemplars():
        by_concept.setdefault(ex.concept_id, []).append(
            {
                "image": f"images/{ex.image}",
                "box": list(ex.box) if ex.box else None,
                "source": ex.source,
                "created": ex.created,
                "embeddings": _vectors(store, ex.id),
            }
        )
    concepts = [
        {
            "name": c.name,
            "info": c.info,
            "category": c.category,
            "created": c.created,
            "exemplars": by_concept.get(c.id, []),
        }
        for c in store.list_concepts()
    ]
    return {"format": FORMAT, "version": VERSION, "app_version": __version__, "concepts": concepts}


def export_zip(store: Store, target: Path) -> int:
    """Write the whole store to `target` (atomically). Returns the number of concepts."""
    manifest = build_manifest(store)
    members: list[tuple[str, object]] = [("manifest.json", json.dumps(manifest, indent=1).encode("utf-8"))]
    seen = set()
    for concept in manifest["concepts"]:
        for ex in concept["exemplars"]:
            if ex["image"] not in seen:
                seen.add(ex["image"])
                path = store.image_path(ex["image"].split("/", 1)[1])
                members.append((ex["image"], path.read_bytes))
    write_zip_atomic(target, members)  # type: ignore[arg-type]
    return len(manifest["concepts"])


def _decode_vector(text: str, where: str) -> np.ndarray:
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise ArchiveError(f"{where}: embedding is not valid base64") from None
    if not raw or len(raw) % 4:
        raise ArchiveError(f"{where}: embedding has a broken length")
    vector = np.frombuffer(raw, np.float32).copy()
    if not np.all(np.isfinite(vector)):
        raise ArchiveError(f"{where}: embedding holds non-finite numbers")
    return vector


def _exemplar(reader: SafeZipReader, archive: Path, entry: dict) -> NewExemplar:
    member = entry.get("image")
    if not isinstance(member, str) or not member.startswith("images/") or member not in reader.names():
        raise ArchiveError(f"{archive.name}: manifest names a missing image {member!r}")
    loaded = load_image(reader.read(member), name=f"{archive.name}:{member}")
    if member.rsplit("/", 1)[1].split(".", 1)[0] != loaded.sha256:
        raise ArchiveError(f"{archive.name}: {member} does not match its checksum (damaged archive)")
    box = entry.get("box")
    vectors = {
        str(m): _decode_vector(v, f"{archive.name}:{member}") for m, v in (entry.get("embeddings") or {}).items()
    }
    source = entry.get("source") if entry.get("source") in ("registered", "confirmed", "imported") else "imported"
    return NewExemplar(loaded, tuple(float(v) for v in box) if box else None, source, vectors, entry.get("created"))


def read_backup(archive: Path) -> list[NewConcept]:
    with SafeZipReader(archive) as reader:
        if "manifest.json" not in reader.names():
            raise ArchiveError(f"{archive.name}: not a RAP Desktop backup (no manifest.json)")
        raw = reader.read("manifest.json")
        if len(raw) > MAX_MANIFEST_BYTES:
            raise ArchiveError(f"{archive.name}: manifest is too large")
        try:
            manifest = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ArchiveError(f"{archive.name}: manifest.json is not valid JSON ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ArchiveError(f"{archive.name}: not a RAP Desktop backup")
        if not isinstance(manifest.get("version"), int) or manifest["version"] > VERSION:
            raise ArchiveError(f"{archive.name}: written by a newer RAP Desktop (format {manifest.get('version')})")
        concepts = []
        for entry in manifest.get("concepts") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise ArchiveError(f"{archive.name}: manifest has a malformed concept entry")
            exemplars = tuple(_exemplar(reader, archive, e) for e in entry.get("exemplars") or [])
            if not exemplars:
                raise ArchiveError(f"{archive.name}: concept {entry['name']!r} has no image")
            concepts.append(
                NewConcept(
                    entry["name"],
                    str(entry.get("info") or ""),
                    str(entry.get("category") or ""),
                    exemplars,
                    entry.get("created"),
                )
            )
    return concepts


def import_zip(store: Store, archive: Path, skip_existing: bool = False) -> ImportReport:
    return store.import_concepts(read_backup(archive), skip_existing)
