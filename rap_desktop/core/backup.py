"""Full backup and restore of the concept store as one zip file.

Layout: `manifest.json` (concepts, exemplars, their embeddings per model as base64 float32) and
`images/<sha256>.<ext>`. Restoring reads the archive through SafeZipReader (no path from the
archive ever touches the file system), checks each image's bytes against its hash, and adds all
concepts in one transaction.

Damage costs only what is damaged: export leaves out the photos whose file is missing, damaged or
named outside the images folder (and rows it cannot read) and says which; import restores every
concept with at least one sound photo and says what it left out.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from .errors import ArchiveError, ImageError, RapError
from .images import load_image
from .safe_zip import SafeZipReader, write_zip_atomic
from .store import ImportReport, NewConcept, NewExemplar, Store, content_sha256

FORMAT = "rap-desktop-backup"
VERSION = 1
MAX_MANIFEST_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class ExportReport:
    concepts: int  # concepts written
    left_out: list[str]  # one line per photo, concept or table that could not be exported


def _rows(store: Store, sql: str, args: tuple, what: str, left_out: list[str]) -> Iterator[tuple]:
    """The rows of a query up to the first one SQLite cannot read (a damaged page); that is reported."""
    try:
        yield from store.conn.execute(sql, args)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        left_out.append(f"{what}: the rest cannot be read ({exc})")


def _table(store: Store, columns: str, table: str, left_out: list[str]) -> Iterator[tuple]:
    """Every readable row of a table in id order (`columns` starts with id). Past a damaged page the
    reading goes on at ever larger id steps, so the rows after the damage are rescued too."""
    sql = f"SELECT {columns} FROM {table} WHERE id > ? ORDER BY id"
    try:
        last = store.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        top = int(last[0]) if last else 0
    except (sqlite3.DatabaseError, UnicodeDecodeError, TypeError, ValueError):
        top = 0
    after, step, failed = 0, 1, None
    while True:
        try:
            for row in store.conn.execute(sql, (after,)):
                after, step = row[0], 1
                yield row
            break
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            failed = failed or exc
            if after >= top:
                break
            after, step = after + step, step * 2
    if failed is not None:
        left_out.append(f"table {table}: some rows cannot be read ({failed}); the readable ones are exported")


def _vectors(store: Store, exemplar_id: int, where: str, left_out: list[str]) -> dict[str, str]:
    found = {}
    sql = "SELECT model, dim, vector FROM embeddings WHERE exemplar_id = ?"
    for model, dim, blob in _rows(store, sql, (exemplar_id,), f"embeddings of {where}", left_out):
        if isinstance(blob, bytes) and isinstance(dim, int) and len(blob) == 4 * dim > 0:
            found[model] = base64.b64encode(blob).decode("ascii")
        else:
            left_out.append(f"{where}: its {model} embedding is damaged; left out (import computes it again)")
    return found


def _sound_file(store: Store, image: object, where: str, left_out: list[str]) -> bool:
    """The photo's file is one of the store's, present, and its content still matches its name."""
    try:
        path = store.image_path(image)  # type: ignore[arg-type]
        if content_sha256(path) == str(image).split(".", 1)[0]:
            return True
        left_out.append(f"{where}: image file {image} is damaged (content does not match its name); left out")
    except RapError as exc:
        left_out.append(f"{where}: {exc}; left out")
    except OSError as exc:
        left_out.append(f"{where}: image file {image} cannot be read ({exc.strerror or exc}); left out")
    return False


def _exemplar_entries(store: Store, names: dict[int, str], left_out: list[str]) -> dict[int, list[dict]]:
    by_concept: dict[int, list[dict]] = {}
    columns = "id, concept_id, image, box, source, created"
    for exemplar_id, concept_id, image, box, source, created in _table(store, columns, "exemplars", left_out):
        where = f"photo {exemplar_id} of <{names.get(concept_id, '?')}>"
        if not _sound_file(store, image, where, left_out):
            continue
        try:
            parsed = list(json.loads(box)) if box else None
        except (TypeError, ValueError):
            left_out.append(f"{where}: its box {box!r} is damaged; exported as the whole photo")
            parsed = None
        by_concept.setdefault(concept_id, []).append(
            {
                "image": f"images/{image}",
                "box": parsed,
                "source": source,
                "created": created,
                "embeddings": _vectors(store, exemplar_id, where, left_out),
            }
        )
    return by_concept


def _replacing(left: list[bool]):
    def decode(raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            left.append(True)
            return raw.decode("utf-8", "replace")

    return decode


def build_manifest(store: Store, left_out: list[str] | None = None) -> dict:
    """The manifest of everything sound in the store; what is not goes to `left_out`, one line each."""
    left_out = [] if left_out is None else left_out
    replaced: list[bool] = []
    before = store.conn.text_factory
    store.conn.text_factory = _replacing(replaced)  # text that is not UTF-8: kept, bad bytes as U+FFFD
    try:
        rows = []
        columns = "id, name, info, category, created"
        for concept_id, name, info, category, created in _table(store, columns, "concepts", left_out):
            if replaced:
                left_out.append(f"concept <{name}>: text that was not valid UTF-8 is exported with U+FFFD in its place")
                replaced.clear()
            rows.append((concept_id, name, info, category, created))
        by_concept = _exemplar_entries(store, {r[0]: r[1] for r in rows}, left_out)
        concepts = []
        for concept_id, name, info, category, created in sorted(rows, key=lambda r: str(r[1]).casefold()):
            exemplars = by_concept.get(concept_id, [])
            if not exemplars:
                left_out.append(f"concept <{name}>: none of its photos could be exported; left out")
                continue
            concepts.append(
                {"name": name, "info": info, "category": category, "created": created, "exemplars": exemplars}
            )
    finally:
        store.conn.text_factory = before
    return {"format": FORMAT, "version": VERSION, "app_version": __version__, "concepts": concepts}


def export_zip(store: Store, target: Path) -> ExportReport:
    """Write every sound concept of the store to `target` (atomically); the rest is reported."""
    left_out: list[str] = []
    manifest = build_manifest(store, left_out)
    if not manifest["concepts"] and left_out:
        raise RapError(f"nothing in {store.home} could be exported: {left_out[0]}")
    members: list[tuple[str, object]] = [("manifest.json", json.dumps(manifest, indent=1).encode("utf-8"))]
    seen = set()
    for concept in manifest["concepts"]:
        for ex in concept["exemplars"]:
            if ex["image"] not in seen:
                seen.add(ex["image"])
                path = store.image_path(ex["image"].split("/", 1)[1])
                members.append((ex["image"], path.read_bytes))
    write_zip_atomic(target, members)  # type: ignore[arg-type]
    return ExportReport(len(manifest["concepts"]), left_out)


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


def read_backup(archive: Path, left_out: list[str] | None = None) -> list[NewConcept]:
    """The sound concepts of a backup. A photo that is missing, damaged or does not match its
    checksum is left out (reported in `left_out`), and so is a concept left with no photo; an
    archive with nothing sound at all is refused."""
    left_out = [] if left_out is None else left_out
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
            exemplars = []
            for item in entry.get("exemplars") or []:
                try:
                    exemplars.append(_exemplar(reader, archive, item))
                except (ArchiveError, ImageError) as exc:
                    left_out.append(f"a photo of {entry['name']!r} left out: {exc}")
            if not exemplars:
                left_out.append(f"concept {entry['name']!r} left out: no photo of it could be restored")
                continue
            concepts.append(
                NewConcept(
                    entry["name"],
                    str(entry.get("info") or ""),
                    str(entry.get("category") or ""),
                    tuple(exemplars),
                    entry.get("created"),
                )
            )
    if not concepts and left_out:
        raise ArchiveError(f"nothing in {archive.name} could be restored: {left_out[0]}")
    return concepts


def import_zip(store: Store, archive: Path, skip_existing: bool = False) -> ImportReport:
    left_out: list[str] = []
    report = store.import_concepts(read_backup(archive, left_out), skip_existing)
    return dataclasses.replace(report, left_out=left_out)
