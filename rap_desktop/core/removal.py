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

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import names
from .errors import ConflictError, RapError
from .images import LoadedImage, load_image
from .regions import iou
from .store import Store, photos
from .store import concepts as concepts_table
from .store import removal as rows


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
    row = rows.concept_record(store, concept.id)
    exemplars = []
    for ex in rows.exemplar_records(store, concept.id):
        path = store.image_path(ex[1])
        loaded = load_image(path)
        if loaded.sha256 != ex[1].split(".", 1)[0]:
            raise RapError(f"the photo file {path} of {names.tag(concept.name)} is damaged; not removed")
        exemplars.append(SavedExemplar(ex, loaded, rows.exemplar_vectors(store, ex[0])))
    negatives = rows.negative_records(store, concept.id)
    matches = rows.match_records(store, concept.id)
    places = rows.decided_places(store, concept.id)
    return RemovedConcept(row, tuple(exemplars), tuple(negatives), tuple(matches), places)


def remove(store: Store, concept_names: Sequence[str]) -> list[RemovedConcept]:
    """Remove the concepts in one transaction; returns all that `restore` needs. Everything is read
    (and each photo file checked) before anything is deleted."""
    saved = [_save(store, name) for name in dict.fromkeys(concept_names)]
    with store.transaction() as pending:
        for concept in saved:
            if not concepts_table.concept_exists(store, concept.id):
                raise RapError(f"concept {names.tag(concept.name)} was removed meanwhile")
            for ex in concept.exemplars:
                pending.remove.append(int(ex.row[0]))
                pending.files.add(ex.row[1])
            concepts_table.delete_concept(store, concept.id)  # cascades to the rest
    return saved


def restore(store: Store, removed: Sequence[RemovedConcept]) -> list[str]:
    """Put removed concepts back under their old ids, in one transaction (all or nothing).

    Negatives and matches whose region has gone meanwhile (its photo forgotten) stay gone; a name
    taken meanwhile by a new concept is a ConflictError and nothing changes."""
    with store.transaction():
        for concept in removed:
            taken = rows.name_or_id_taken(store, concept.row[2], concept.id)
            if taken:
                raise ConflictError(
                    f"cannot bring back {names.tag(concept.name)}: {names.tag(taken)} exists now; "
                    "rename or remove it first"
                )
            rows.insert_concept_record(store, concept.row)
            for ex in concept.exemplars:
                if store.store_file(ex.image) != ex.row[1]:  # the file lands before the row naming it
                    raise RapError(f"the saved photo of {names.tag(concept.name)} does not match its name")
                rows.insert_exemplar_record(store, concept.id, ex.row)
                for model, vector in ex.vectors.items():
                    store.insert_embedding(int(ex.row[0]), model, vector)
            regions = rows.existing_regions(store, [n[3] for n in concept.negatives] + [m[0] for m in concept.matches])
            moved = _relocate(store, {r: p for r, p in concept.places.items() if r not in regions})
            here = {**{r: r for r in regions}, **moved}
            for negative in concept.negatives:
                rows.insert_negative_record(store, concept.id, negative, here.get(negative[3]))
            kept: dict[int, tuple] = {}  # one row per region, the user's word first; a gone auto match stays gone
            for r, s, st, a in sorted(concept.matches, key=lambda m: m[2] == "auto"):
                if r in regions or (r in moved and st != "auto"):
                    kept.setdefault(here[r], (here[r], concept.id, s, st, a))
            rows.insert_matches(store, list(kept.values()))
            photos.move_decisions(store, ([], [], photos.read_decisions(store, list(moved))[2]), moved)
    return [c.name for c in removed]


def _relocate(store: Store, gone: dict[int, tuple]) -> dict[int, int]:
    """Old region id -> the region of the same photo now overlapping its box most (IoU >= CARRY_IOU)."""
    moved: dict[int, int] = {}
    for old, (photo_id, box) in gone.items():
        best, best_iou = None, photos.CARRY_IOU
        for region_id, now in rows.photo_region_boxes(store, photo_id):
            overlap = iou(box, now)
            if overlap >= best_iou and (best is None or overlap > best_iou):
                best, best_iou = region_id, overlap
        if best is not None:
            moved[old] = int(best)
    return moved
