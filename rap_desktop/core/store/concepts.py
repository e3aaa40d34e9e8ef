"""Concepts and their exemplars: the `Store` methods that read and change them (mixed into `Store`),
and single-row functions for callers that compose a change inside their own `store.transaction()`.

An exemplar's image file lands before the row that names it; its vectors reach the search index
only once the transaction has committed (see base.py).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import sqlite_utils

from .. import names
from ..errors import ConflictError, ModelMissingError, NotFoundError
from ..images import LoadedImage, crop_box, load_image
from ..models.embedder import ImageEmbedder
from .records import AddResult, Box, Concept, Exemplar, ImportReport, NewConcept, NewExemplar, Pending

if TYPE_CHECKING:
    from .connection import StoreBase as Store  # these functions need only the connection half


class Concepts:
    """Concept and exemplar methods of `Store` (which provides the connection and `transaction()`)."""

    conn: sqlite3.Connection
    db: sqlite_utils.Database
    embedder: ImageEmbedder | None
    _pending: Pending | None

    def _concept_row(self, name: str) -> dict:
        key = names.name_key(name)
        rows = list(self.db.query("SELECT * FROM concepts WHERE name_key = ?", [key]))
        if not rows:
            raise NotFoundError(f"no concept named {names.tag(names.clean_name(name))}")
        return rows[0]

    def _concept(self, row: dict) -> Concept:
        count = self.conn.execute("SELECT COUNT(*) FROM exemplars WHERE concept_id = ?", (row["id"],)).fetchone()[0]
        return Concept(row["id"], row["name"], row["info"], row["category"], row["created"], row["updated"], count)

    def get_concept(self, name: str) -> Concept:
        return self._concept(self._concept_row(name))

    def find_concept(self, name: str) -> Concept | None:
        try:
            return self.get_concept(name)
        except NotFoundError:
            return None

    def list_concepts(self) -> list[Concept]:
        sql = (
            "SELECT c.*, COUNT(e.id) AS n FROM concepts c LEFT JOIN exemplars e ON e.concept_id = c.id "
            "GROUP BY c.id ORDER BY c.name_key"
        )
        return [
            Concept(r["id"], r["name"], r["info"], r["category"], r["created"], r["updated"], r["n"])
            for r in self.db.query(sql)
        ]

    def concept_names(self, ids: Sequence[int]) -> dict[int, str]:
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(f"SELECT id, name FROM concepts WHERE id IN ({marks})", list(ids))
        return dict(rows.fetchall())

    def _embed(self, items: Sequence[NewExemplar]) -> tuple[list[np.ndarray | None], str]:
        """Vectors from the current embedder for each exemplar (precomputed ones reused)."""
        if self.embedder is None:
            return [None] * len(items), "no image embedder configured; not searchable until one is"
        model = self.embedder.model_id
        todo = [i for i, item in enumerate(items) if model not in item.vectors]
        vectors: list[np.ndarray | None] = [item.vectors.get(model) for item in items]
        if todo:
            try:
                fresh = self.embedder.embed_images([crop_box(items[i].image.image, items[i].box) for i in todo])
            except ModelMissingError as exc:
                return vectors, f"stored without an embedding ({exc}); it is embedded when the model is present"
            for i, vector in zip(todo, fresh, strict=True):
                vectors[i] = vector
        return vectors, ""

    def add_concept(
        self,
        name: str,
        image: LoadedImage | str | os.PathLike,
        info: str = "",
        category: str = "",
        box: Box | None = None,
        source: str = "registered",
    ) -> AddResult:
        loaded = image if isinstance(image, LoadedImage) else load_image(image)
        new = NewConcept(name, info, category, (NewExemplar(loaded, box, source),))
        return self.add_many([new])[0]

    def add_many(self, concepts: Sequence[NewConcept], skip_existing: bool = False) -> list[AddResult]:
        """Add concepts with their exemplars in ONE transaction: all of them land, or none.

        With skip_existing, concepts whose name is taken are left out (and not in the result).
        """
        shown = [names.clean_name(c.name) for c in concepts]
        categories = [names.clean_category(c.category) for c in concepts]
        keys = [names.lookalike_key(n) for n in shown]
        if len(set(keys)) != len(keys):
            twice = sorted({n for n, k in zip(shown, keys, strict=True) if keys.count(k) > 1})
            raise ConflictError(f"the same name is given twice: {', '.join(map(names.tag, twice))}")
        flat = [item for c in concepts for item in c.exemplars]
        for item in flat:
            crop_box(item.image.image, item.box)  # a bad box is refused before anything is written
        vectors, warning = self._embed(flat)
        results: list[AddResult] = []
        now = time.time()
        with self.transaction():
            position = 0
            for concept, name, category in zip(concepts, shown, categories, strict=True):
                exists = self.conn.execute("SELECT 1 FROM concepts WHERE name_key=?", (name.casefold(),)).fetchone()
                chunk = vectors[position : position + len(concept.exemplars)]
                position += len(concept.exemplars)
                if (exists or self.lookalike(name)) and skip_existing:
                    continue
                if exists:
                    raise ConflictError(f"a concept named {names.tag(name)} already exists")
                self.refuse_lookalike(name)
                created = concept.created or now
                cur = self.conn.execute(
                    "INSERT INTO concepts(name, name_key, info, category, created, updated) VALUES (?,?,?,?,?,?)",
                    (name, name.casefold(), concept.info.strip(), category, created, now),
                )
                made = [
                    self.insert_exemplar(cur.lastrowid, item, vector, now)
                    for item, vector in zip(concept.exemplars, chunk, strict=True)
                ]
                row = Concept(cur.lastrowid, name, concept.info.strip(), category, created, now, len(made))
                results.append(AddResult(row, made[0], all(v is not None for v in chunk), warning))
        return results

    def lookalike(self, name: str, own_id: int | None = None) -> str | None:
        """An existing concept's name that `name` would be mistaken for (full-width `ｂｏ` for `bo`)."""
        rows = self.conn.execute("SELECT name FROM concepts WHERE id IS NOT ?", (own_id,))
        return names.lookalike(name, [r[0] for r in rows])

    def refuse_lookalike(self, name: str, own_id: int | None = None) -> None:
        other = self.lookalike(name, own_id)
        if other is not None:
            raise ConflictError(f"concept name {names.tag(name)} looks the same as the existing {names.tag(other)}")

    def import_concepts(self, concepts: Sequence[NewConcept], skip_existing: bool = False) -> ImportReport:
        added = self.add_many(concepts, skip_existing=skip_existing)
        done = {r.concept.name.casefold() for r in added}
        return ImportReport(added, [c.name for c in concepts if names.name_key(c.name) not in done])

    def add_exemplar(
        self,
        name: str,
        image: LoadedImage | str | os.PathLike,
        box: Box | None = None,
        source: str = "registered",
    ) -> AddResult:
        concept = self.get_concept(name)
        loaded = image if isinstance(image, LoadedImage) else load_image(image)
        item = NewExemplar(loaded, box, source)
        crop_box(loaded.image, box)
        (vector,), warning = self._embed([item])
        with self.transaction():
            if not self.conn.execute("SELECT 1 FROM concepts WHERE id = ?", (concept.id,)).fetchone():
                raise NotFoundError(f"concept {names.tag(concept.name)} was removed meanwhile")
            exemplar = self.insert_exemplar(concept.id, item, vector, time.time())
        return AddResult(self.get_concept(concept.name), exemplar, vector is not None, warning)

    def insert_exemplar(self, concept_id: int, item: NewExemplar, vector, now: float) -> Exemplar:
        """Inside `transaction()`: the exemplar's file, its row and its vectors (`vector` from the
        current embedder, besides the item's own precomputed ones)."""
        assert self._pending is not None
        image = self.store_file(item.image)  # the file lands before the row that names it
        width, height = item.image.size
        box = tuple(float(v) for v in item.box) if item.box else None
        cur = self.conn.execute(
            "INSERT INTO exemplars(concept_id, image, width, height, box, source, created) VALUES (?,?,?,?,?,?,?)",
            (concept_id, image, width, height, json.dumps(box) if box else None, item.source, item.created or now),
        )
        exemplar_id = int(cur.lastrowid)
        stored = dict(item.vectors)
        if vector is not None:
            stored[self.embedder.model_id] = vector  # type: ignore[union-attr]
        for model, row in stored.items():
            self.insert_embedding(exemplar_id, model, row)
        return Exemplar(exemplar_id, concept_id, image, width, height, box, item.source, item.created or now)

    def insert_embedding(self, exemplar_id: int, model: str, vector: np.ndarray) -> None:
        """Inside `transaction()`: one exemplar's vector for `model`, added to the index once committed."""
        assert self._pending is not None
        vector = np.asarray(vector, np.float32)
        self.conn.execute(
            "INSERT OR REPLACE INTO embeddings(exemplar_id, model, dim, vector) VALUES (?,?,?,?)",
            (exemplar_id, model, len(vector), vector.tobytes()),
        )
        self._pending.add.append((model, exemplar_id, vector))

    def edit_concept(
        self, name: str, rename: str | None = None, info: str | None = None, category: str | None = None
    ) -> Concept:
        with self.transaction():
            row = self._concept_row(name)
            new_name = names.clean_name(rename) if rename is not None else row["name"]
            new_category = names.clean_category(category) if category is not None else row["category"]
            if rename is not None:
                self.refuse_lookalike(new_name, row["id"])
            new_info = info.strip() if info is not None else row["info"]
            if rename is not None and new_name != row["name"]:
                # the reference's info texts name the concept as <name>; keep them in step
                new_info = _retag(new_info, row["name"], new_name)
            try:
                self.conn.execute(
                    "UPDATE concepts SET name=?, name_key=?, info=?, category=?, updated=? WHERE id=?",
                    (
                        new_name,
                        new_name.casefold(),
                        new_info,
                        new_category,
                        time.time(),
                        row["id"],
                    ),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"a concept named {names.tag(new_name)} already exists") from None
        return self.get_concept(new_name)

    def remove_concept(self, name: str) -> Concept:
        with self.transaction() as pending:
            concept = self.get_concept(name)
            rows = self.conn.execute("SELECT id, image FROM exemplars WHERE concept_id = ?", (concept.id,))
            for exemplar_id, image in rows.fetchall():
                pending.remove.append(exemplar_id)
                pending.files.add(image)
            self.conn.execute("DELETE FROM concepts WHERE id = ?", (concept.id,))
        return concept

    def remove_exemplar(self, exemplar_id: int) -> None:
        with self.transaction() as pending:
            row = self.conn.execute("SELECT image FROM exemplars WHERE id = ?", (exemplar_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no exemplar {exemplar_id}")
            pending.remove.append(exemplar_id)
            pending.files.add(row[0])
            self.conn.execute("DELETE FROM exemplars WHERE id = ?", (exemplar_id,))

    def exemplars(self, name: str | None = None) -> list[Exemplar]:
        sql, args = "SELECT * FROM exemplars", []
        if name is not None:
            sql, args = sql + " WHERE concept_id = ?", [self.get_concept(name).id]
        return [
            Exemplar(
                r["id"],
                r["concept_id"],
                r["image"],
                r["width"],
                r["height"],
                tuple(json.loads(r["box"])) if r["box"] else None,
                r["source"],
                r["created"],
            )
            for r in self.db.query(sql + " ORDER BY id", args)
        ]


def _retag(info: str, old: str, new: str) -> str:
    return re.sub(re.escape(names.tag(old)), names.tag(new).replace("\\", r"\\"), info, flags=re.IGNORECASE)


def concept_exists(store: Store, concept_id: int) -> bool:
    return store.conn.execute("SELECT 1 FROM concepts WHERE id = ?", (concept_id,)).fetchone() is not None


def insert_concept(store: Store, name: str, info: str, category: str, created: float, updated: float) -> int:
    """A new concept row (name already cleaned); its id. A name in use is a ConflictError."""
    try:
        cur = store.conn.execute(
            "INSERT INTO concepts(name, name_key, info, category, created, updated) VALUES (?,?,?,?,?,?)",
            (name, name.casefold(), info, category, created, updated),
        )
    except sqlite3.IntegrityError:
        raise ConflictError(f"a concept named {names.tag(name)} already exists") from None
    return int(cur.lastrowid)


def delete_concept(store: Store, concept_id: int) -> None:
    """The concept row; its exemplars, embeddings, negatives and matches go with it (ON DELETE CASCADE).
    The caller queues the exemplars' index entries and files on the transaction."""
    store.conn.execute("DELETE FROM concepts WHERE id = ?", (concept_id,))


def delete_exemplar(store: Store, exemplar_id: int) -> None:
    """Inside a transaction: the exemplar row goes, its vectors leave the indexes and its file is
    removed once no row names it (after COMMIT)."""
    pending = store.pending()
    image = store.conn.execute("SELECT image FROM exemplars WHERE id = ?", (exemplar_id,)).fetchone()
    store.conn.execute("DELETE FROM exemplars WHERE id = ?", (exemplar_id,))
    pending.remove.append(exemplar_id)
    if image:
        pending.files.add(image[0])
