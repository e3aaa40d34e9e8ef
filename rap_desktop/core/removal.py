"""Remove concepts so that they can be put back exactly: the concept, its photos and embeddings,
its negatives (from rejections) and its matches (confirmed, rejected, reassigned, auto).

Restoring re-inserts the rows under their old ids. SQLite's AUTOINCREMENT never hands an id out
twice, so the old ids are still free, and everything that names them (the correction log, an
undo stack holding correction ids) is valid again: undoing a correction after remove -> undo works.
A photo detected again meanwhile (removing a concept can change the detector's prompts) has new
region rows: the user's decisions go to the region now overlapping the old box most (as on a
re-detection), the log follows them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import names, photos
from .errors import ConflictError, RapError
from .images import LoadedImage, load_image
from .regions import iou
from .store import Store


@dataclass(frozen=True)
class SavedExemplar:
    row: tuple  # id, image, width, height, box, source, created
    image: LoadedImage
    vectors: dict[str, np.ndarray]


@dataclass(frozen=True)
class RemovedConcept:
    row: tuple  # id, name, name_key, info, category, created, updated
    exemplars: tuple[SavedExemplar, ...]
    negatives: tuple[tuple, ...]  # id, model, vector, region_id, created
    matches: tuple[tuple, ...]  # region_id, similarity, status, accepted
    places: dict[int, tuple] = field(default_factory=dict)  # decided region id -> (photo_id, box)

    @property
    def id(self) -> int:
        return int(self.row[0])

    @property
    def name(self) -> str:
        return str(self.row[1])


def _save(store: Store, name: str) -> RemovedConcept:
    concept = store.get_concept(name)
    conn = store.conn
    row = conn.execute(
        "SELECT id, name, name_key, info, category, created, updated FROM concepts WHERE id = ?", (concept.id,)
    ).fetchone()
    exemplars = []
    for ex in conn.execute(
        "SELECT id, image, width, height, box, source, created FROM exemplars WHERE concept_id = ? ORDER BY id",
        (concept.id,),
    ).fetchall():
        path = store.image_path(ex[1])
        loaded = load_image(path)
        if loaded.sha256 != ex[1].split(".", 1)[0]:
            raise RapError(f"the photo file {path} of {names.tag(concept.name)} is damaged; not removed")
        vectors = {
            model: np.frombuffer(blob, np.float32).copy()
            for model, blob in conn.execute("SELECT model, vector FROM embeddings WHERE exemplar_id = ?", (ex[0],))
        }
        exemplars.append(SavedExemplar(tuple(ex), loaded, vectors))
    negatives = conn.execute(
        "SELECT id, model, vector, region_id, created FROM negatives WHERE concept_id = ? ORDER BY id", (concept.id,)
    ).fetchall()
    matches = conn.execute(
        "SELECT region_id, similarity, status, accepted FROM matches WHERE concept_id = ?", (concept.id,)
    ).fetchall()
    places = {
        int(r[0]): (int(r[1]), tuple(r[2:]))
        for r in conn.execute(
            "SELECT id, photo_id, x1, y1, x2, y2 FROM regions WHERE id IN (SELECT region_id FROM matches "
            "WHERE concept_id = ? AND status != 'auto' UNION SELECT region_id FROM negatives WHERE concept_id = ?)",
            (concept.id, concept.id),
        )
    }
    return RemovedConcept(
        tuple(row), tuple(exemplars), tuple(map(tuple, negatives)), tuple(map(tuple, matches)), places
    )


def remove(store: Store, concept_names: Sequence[str]) -> list[RemovedConcept]:
    """Remove the concepts in one transaction; returns all that `restore` needs. Everything is read
    (and each photo file checked) before anything is deleted."""
    saved = [_save(store, name) for name in dict.fromkeys(concept_names)]
    with store.transaction() as pending:
        for concept in saved:
            if not store.conn.execute("SELECT 1 FROM concepts WHERE id = ?", (concept.id,)).fetchone():
                raise RapError(f"concept {names.tag(concept.name)} was removed meanwhile")
            for ex in concept.exemplars:
                pending.remove.append(int(ex.row[0]))
                pending.files.add(ex.row[1])
            store.conn.execute("DELETE FROM concepts WHERE id = ?", (concept.id,))  # cascades to the rest
    return saved


def restore(store: Store, removed: Sequence[RemovedConcept]) -> list[str]:
    """Put removed concepts back under their old ids, in one transaction (all or nothing).

    Negatives and matches whose region has gone meanwhile (its photo forgotten) stay gone; a name
    taken meanwhile by a new concept is a ConflictError and nothing changes."""
    with store.transaction():
        conn = store.conn
        for concept in removed:
            taken = conn.execute(
                "SELECT name FROM concepts WHERE name_key = ? OR id = ?", (concept.row[2], concept.id)
            ).fetchone()
            if taken:
                raise ConflictError(
                    f"cannot bring back {names.tag(concept.name)}: {names.tag(taken[0])} exists now; "
                    "rename or remove it first"
                )
            conn.execute(
                "INSERT INTO concepts(id, name, name_key, info, category, created, updated) VALUES (?,?,?,?,?,?,?)",
                concept.row,
            )
            for ex in concept.exemplars:
                if store._store_file(ex.image) != ex.row[1]:  # the file lands before the row naming it
                    raise RapError(f"the saved photo of {names.tag(concept.name)} does not match its name")
                conn.execute(
                    "INSERT INTO exemplars(id, concept_id, image, width, height, box, source, created) "
                    "VALUES (?,?,?,?,?,?,?,?)",
                    (ex.row[0], concept.id, *ex.row[1:]),
                )
                for model, vector in ex.vectors.items():
                    store._insert_embedding(int(ex.row[0]), model, vector)
            regions = _existing_regions(conn, [n[3] for n in concept.negatives] + [m[0] for m in concept.matches])
            moved = _relocate(conn, {r: p for r, p in concept.places.items() if r not in regions})
            here = {**{r: r for r in regions}, **moved}
            for neg_id, model, vector, region_id, created in concept.negatives:
                conn.execute(
                    "INSERT INTO negatives(id, concept_id, model, vector, region_id, created) VALUES (?,?,?,?,?,?)",
                    (neg_id, concept.id, model, vector, here.get(region_id), created),
                )
            rows: dict[int, tuple] = {}  # one row per region, the user's word first; a gone auto match stays gone
            for r, s, st, a in sorted(concept.matches, key=lambda m: m[2] == "auto"):
                if r in regions or (r in moved and st != "auto"):
                    rows.setdefault(here[r], (here[r], concept.id, s, st, a))
            conn.executemany(
                "INSERT INTO matches(region_id, concept_id, similarity, status, accepted) VALUES (?,?,?,?,?)",
                list(rows.values()),
            )
            photos.move_decisions(store, ([], [], photos.read_decisions(store, list(moved))[2]), moved)
    return [c.name for c in removed]


def _relocate(conn: sqlite3.Connection, gone: dict[int, tuple]) -> dict[int, int]:
    """Old region id -> the region of the same photo now overlapping its box most (IoU >= CARRY_IOU)."""
    moved: dict[int, int] = {}
    for old, (photo_id, box) in gone.items():
        best, best_iou = None, photos.CARRY_IOU
        for region_id, *now in conn.execute("SELECT id, x1, y1, x2, y2 FROM regions WHERE photo_id = ?", (photo_id,)):
            overlap = iou(box, tuple(now))
            if overlap >= best_iou and (best is None or overlap > best_iou):
                best, best_iou = region_id, overlap
        if best is not None:
            moved[old] = int(best)
    return moved


def _existing_regions(conn: sqlite3.Connection, ids: Sequence[int | None]) -> set[int]:
    wanted = sorted({int(i) for i in ids if i is not None})
    found: set[int] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(r[0] for r in conn.execute(f"SELECT id FROM regions WHERE id IN ({marks})", chunk))
    return found
