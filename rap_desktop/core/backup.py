"""Full backup and restore of the concept store as one zip file.

Layout: `manifest.json` (concepts, exemplars, their embeddings per model as base64 float32, and the
hidden strangers: core/backup_hidden.py) and `images/<sha256>.<ext>`. Restoring reads the archive
through SafeZipReader (no path from the archive ever touches the file system), checks each image's
bytes against its hash, and adds all concepts in one transaction.

Damage costs only what is damaged: export leaves out the photos whose file is missing, damaged or
named outside the images folder (and rows it cannot read) and says which; import restores every
concept with at least one sound photo and says what it left out.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from . import backup_hidden
from . import backup_manifest as check
from .errors import ArchiveError, ImageError, RapError
from .fsutil import parse_json
from .images import LoadedImage, load_image, sha256_bytes, sha256_file
from .safe_zip import SafeZipReader, write_zip_atomic
from .store import ImportReport, NewConcept, NewExemplar, Store, hidden_import
from .store import backup as readable
from .store.health import embedding_widths, text_as

FORMAT = "rap-desktop-backup"
VERSION = 1
MAX_MANIFEST_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class ExportReport:
    concepts: int  # concepts written
    left_out: list[str]  # one line per photo, concept or table that could not be exported
    hidden: int = 0  # hidden regions (strangers) written


def _vectors(store: Store, exemplar_id: int, where: str, left_out: list[str]) -> dict[str, str]:
    return check.encode_vectors(
        readable.readable_embeddings(store, exemplar_id, f"embeddings of {where}", left_out),
        left_out,
        lambda model: f"{where}: its {model} embedding is damaged; left out (import computes it again)",
    )


def _sound_file(store: Store, image: object, where: str, left_out: list[str]) -> bool:
    """The photo's file is one of the store's, present, and its content still matches its name."""
    try:
        path = store.image_path(image)  # type: ignore[arg-type]
        if sha256_file(path) == str(image).split(".", 1)[0]:
            return True
        left_out.append(f"{where}: image file {image} is damaged (content does not match its name); left out")
    except RapError as exc:
        left_out.append(f"{where}: {exc}; left out")
    except OSError as exc:
        left_out.append(f"{where}: image file {image} cannot be read ({exc.strerror or exc}); left out")
    return False


def _exemplar_entries(store: Store, names: dict[int, str], left_out: list[str]) -> dict[int, list[dict]]:
    by_concept: dict[int, list[dict]] = {}
    for exemplar_id, concept_id, image, box, source, created in readable.readable_exemplars(store, left_out):
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
    with text_as(store, _replacing(replaced)):  # text that is not UTF-8: kept, bad bytes as U+FFFD
        rows = []
        for concept_id, name, info, category, created in readable.readable_concepts(store, left_out):
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
        hidden = backup_hidden.export_entries(store, left_out)
    return {"format": FORMAT, "version": VERSION, "app_version": __version__, "concepts": concepts, "hidden": hidden}


def export_zip(store: Store, target: Path) -> ExportReport:
    """Write every sound concept of the store to `target` (atomically); the rest is reported."""
    left_out: list[str] = []
    manifest = build_manifest(store, left_out)
    if not manifest["concepts"] and not manifest["hidden"] and left_out:
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
    return ExportReport(len(manifest["concepts"]), left_out, len(manifest["hidden"]))


@dataclass
class _Entry:
    """One exemplar of the manifest, its fields checked, its image not read yet."""

    concept: str
    member: object  # checked when its image is read: a missing one leaves that photo out
    box: tuple[float, float, float, float] | None
    source: str
    created: float | None
    vectors: dict[str, np.ndarray]
    problem: str | None = None  # why this photo is left out (its image is then not read)


def _manifest(reader: SafeZipReader, archive: Path) -> dict:
    if "manifest.json" not in reader.names():
        raise ArchiveError(f"{archive.name}: not a RAP Desktop backup (no manifest.json)")
    raw = reader.read("manifest.json")
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ArchiveError(f"{archive.name}: manifest is too large")
    manifest = parse_json(raw, f"{archive.name}: manifest.json", ArchiveError)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"{archive.name}: not a RAP Desktop backup")
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version > VERSION:
        shown = version if isinstance(version, int) else type(version).__name__
        raise ArchiveError(f"{archive.name}: written by a newer RAP Desktop (format {shown})")
    return manifest


def _entries(archive: Path, concept: dict, name: str) -> list[_Entry]:
    where = f"{archive.name}: concept {name!r}"
    out = []
    for raw in check.items(concept.get("exemplars"), where, "exemplars"):
        raw = check.entry(raw, f"{where}: an exemplar")
        member = raw.get("image")
        here = f"{where}, {member if isinstance(member, str) else check.shown(member)}"
        problem = None
        try:  # a broken vector leaves this photo out, as a damaged image does
            vectors = {
                str(model): check.decode_vector(encoded, f"{here}: {model}")
                for model, encoded in check.embeddings(raw.get("embeddings"), here).items()
            }
        except ArchiveError as exc:
            vectors, problem = {}, str(exc)
        source = raw.get("source") if raw.get("source") in ("registered", "confirmed", "imported") else "imported"
        created = check.optional_number(raw.get("created"), here, "created")
        out.append(_Entry(name, member, check.box(raw.get("box"), here), str(source), created, vectors, problem))
    return out


def _trusted(entries: list[_Entry], known: Mapping[str, int], dropped: list[check.Dropped]) -> None:
    """Drop each vector that cannot be an embedding of its model (it is computed again from the image)."""
    found: dict[str, list[int]] = {}
    for item in entries:
        for model, vector in item.vectors.items():
            found.setdefault(model, []).append(len(vector))
    widths = check.widths(found, known)
    for item in entries:
        for model, vector in list(item.vectors.items()):
            reason = check.doubt(vector, widths.get(model))
            if reason:
                del item.vectors[model]
                dropped.append(check.Dropped(item.concept, model, reason))


def _image(reader: SafeZipReader, archive: Path, member: object, decoded: dict[str, LoadedImage]) -> LoadedImage:
    """Each image is decoded once, however many exemplars name it (one photo can be 100s of MB decoded)."""
    if not isinstance(member, str) or not member.startswith("images/") or member not in reader.names():
        raise ArchiveError(f"{archive.name}: manifest names a missing image {check.shown(member)}")
    data = reader.read(member)
    sha = sha256_bytes(data)
    if member.rsplit("/", 1)[1].split(".", 1)[0] != sha:
        raise ArchiveError(f"{archive.name}: {member} does not match its checksum (damaged archive)")
    if sha not in decoded:
        decoded[sha] = load_image(data, name=f"{archive.name}:{member}")
    return decoded[sha]


@dataclass
class Hidden:
    """The hidden strangers read from a backup, and what reading them repaired."""

    entries: list[hidden_import.HiddenEntry] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)


def read_backup(
    archive: Path,
    left_out: list[str] | None = None,
    widths: Mapping[str, int] | None = None,
    dropped: list[check.Dropped] | None = None,
    hidden: Hidden | None = None,
) -> list[NewConcept]:
    """The sound concepts of a backup, every field of the manifest checked (one of the wrong type
    refuses the archive). A photo that is missing, damaged or does not match its checksum is left out
    (reported in `left_out`), and so is a concept left with no photo; an archive with nothing sound at
    all is refused. `widths`: the vector width each model is known to give; embeddings that do not fit
    (or are not unit length, or not finite) are dropped and listed in `dropped`, so the store computes
    them again from the image. `hidden`, when given, receives the hidden strangers (checked as strictly)."""
    left_out = [] if left_out is None else left_out
    dropped = [] if dropped is None else dropped
    with SafeZipReader(archive) as reader:
        manifest = _manifest(reader, archive)
        notes = hidden.notes if hidden is not None else []
        strangers = backup_hidden.read_entries(manifest, archive.name, widths or {}, notes)
        if hidden is not None:
            hidden.entries.extend(strangers)
        parsed = []
        for raw in check.items(manifest.get("concepts"), archive.name, "concepts"):
            concept = check.entry(raw, f"{archive.name}: a concept")
            name = concept.get("name")
            if not isinstance(name, str):
                raise ArchiveError(f"{archive.name}: manifest has a concept whose name is not text")
            where = f"{archive.name}: concept {name!r}"
            fields = (
                check.text(concept.get("info"), where, "info"),
                check.text(concept.get("category"), where, "category"),
                check.optional_number(concept.get("created"), where, "created"),
            )
            parsed.append((name, fields, _entries(archive, concept, name)))
        _trusted([e for _, _, entries in parsed for e in entries], widths or {}, dropped)
        decoded: dict[str, LoadedImage] = {}
        concepts = []
        for name, (info, category, created), entries in parsed:
            exemplars = []
            for e in entries:
                try:
                    if e.problem:
                        raise ArchiveError(e.problem)
                    image = _image(reader, archive, e.member, decoded)
                except (ArchiveError, ImageError) as exc:
                    left_out.append(f"a photo of {name!r} left out: {exc}")
                    continue
                exemplars.append(NewExemplar(image, e.box, e.source, e.vectors, e.created))
            if not exemplars:
                left_out.append(f"concept {name!r} left out: no photo of it could be restored")
                continue
            concepts.append(NewConcept(name, info, category, tuple(exemplars), created))
    if not concepts and not strangers and left_out:
        raise ArchiveError(f"nothing in {archive.name} could be restored: {left_out[0]}")
    return concepts


def _known_widths(store: Store) -> dict[str, int]:
    """model -> vector width, from the store's own vectors, else from the current model's settings."""
    known = embedding_widths(store)
    embedder = store.embedder
    spec_dim = getattr(getattr(embedder, "spec", None), "options", {}).get("dim") if embedder else None
    if embedder is not None and isinstance(spec_dim, int) and embedder.model_id not in known:
        known[embedder.model_id] = spec_dim
    return known


def import_zip(store: Store, archive: Path, skip_existing: bool = False) -> ImportReport:
    """Restore a backup: its concepts (one transaction), then its hidden strangers (a second one; a region
    already hidden here is not added again: importing again with skip_existing completes one cut short)."""
    left_out: list[str] = []
    dropped: list[check.Dropped] = []
    hidden = Hidden()
    concepts = read_backup(archive, left_out, _known_widths(store), dropped, hidden)
    report = store.import_concepts(concepts, skip_existing)
    added, _ = hidden_import.restore(store, hidden.entries)
    notes = [d.note() for d in dropped] + hidden.notes
    return dataclasses.replace(report, left_out=left_out, notes=notes, hidden=added)
