"""Exemplar vectors and their FAISS caches: embedding what has no vector yet, the current index
per model, the nearest-exemplar search, and persisting the caches (mixed into `Store`).

SQLite is the source of truth; an index is a cache versioned by the store generation, rebuilt when
another process changed the vectors meanwhile.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np

from ..errors import RapError
from ..images import crop_box, load_image
from ..models.embedder import ImageEmbedder
from ..vector_index import VectorIndex
from .records import Hit


class Vectors:
    """Vector and search methods of `Store` (which provides the connection, files and `transaction()`)."""

    conn: sqlite3.Connection
    embedder: ImageEmbedder | None
    read_only: str
    index_dir: Path
    _indexes: dict[str, VectorIndex]
    _dirty: set[str]

    def embed_missing(self, progress=None) -> int:
        """Embed every exemplar that has no vector from the current embedder (new model, or added
        while the model was missing). Returns how many were embedded."""
        if self.embedder is None:
            return 0
        model = self.embedder.model_id
        todo = self.conn.execute(
            "SELECT e.id, e.image, e.box FROM exemplars e WHERE NOT EXISTS "
            "(SELECT 1 FROM embeddings m WHERE m.exemplar_id = e.id AND m.model = ?) ORDER BY e.id",
            (model,),
        ).fetchall()
        for done, (exemplar_id, image, box) in enumerate(todo, 1):
            loaded = load_image(self.image_path(image))
            vector = self.embedder.embed_images([crop_box(loaded.image, tuple(json.loads(box)) if box else None)])[0]
            with self.transaction():
                if self.conn.execute("SELECT 1 FROM exemplars WHERE id = ?", (exemplar_id,)).fetchone():
                    self.insert_embedding(exemplar_id, model, vector)
            if progress:
                progress(done, len(todo))
        return len(todo)

    def index(self, model: str | None = None) -> VectorIndex:
        """The FAISS index for `model` (default: the embedder's), current with the store."""
        model = model or self._model_id()
        current = self._indexes.get(model)
        generation = self.generation()
        if current is not None and current.generation == generation:
            return current
        self.conn.execute("BEGIN")  # one snapshot for generation + rows
        try:
            generation = self.generation()
            count = self.conn.execute("SELECT COUNT(*) FROM embeddings WHERE model = ?", (model,)).fetchone()[0]
            index = VectorIndex.load(self.index_dir, model, generation, count)
            if index is None:
                index = self._build_index(model, generation)
                self._dirty.add(model)
        finally:
            self.conn.execute("COMMIT")
        self._indexes[model] = index
        return index

    def _build_index(self, model: str, generation: int) -> VectorIndex:
        rows = self.conn.execute(
            "SELECT exemplar_id, dim, vector FROM embeddings WHERE model = ? ORDER BY exemplar_id", (model,)
        ).fetchall()
        dims = {dim for _, dim, _ in rows}
        if len(dims) > 1:
            raise RapError(f"stored embeddings for {model} have mixed widths {sorted(dims)}")
        dim = dims.pop() if dims else 1  # an empty index takes its width from its first vectors
        ids = np.array([r[0] for r in rows], np.int64)
        vectors = np.stack([np.frombuffer(r[2], np.float32) for r in rows]) if rows else np.zeros((0, dim))
        return VectorIndex.build(model, dim, generation, ids, vectors)

    def _model_id(self) -> str:
        if self.embedder is None:
            raise RapError("no image embedder configured")
        return self.embedder.model_id

    def search(self, queries: np.ndarray, k: int = 2, model: str | None = None) -> list[list[Hit]]:
        """For each query vector, the k nearest exemplars, best first."""
        index = self.index(model)
        if index.count == 0:
            return [[] for _ in range(len(queries))]
        sims, ids = index.search(np.atleast_2d(queries), k)
        wanted = sorted({int(i) for i in ids.ravel() if i >= 0})
        marks = ",".join("?" * len(wanted))
        owner = {
            r[0]: (r[1], r[2])
            for r in self.conn.execute(
                f"SELECT e.id, c.id, c.name FROM exemplars e JOIN concepts c ON c.id = e.concept_id "
                f"WHERE e.id IN ({marks})",
                wanted,
            )
        }
        return [
            [Hit(int(i), *owner[int(i)], float(s)) for s, i in zip(srow, irow, strict=True) if int(i) in owner]
            for srow, irow in zip(sims, ids, strict=True)
        ]

    def flush(self) -> None:
        """Persist changed FAISS caches (a crash before this only costs a rebuild)."""
        if self.read_only:
            self._dirty.clear()
            return
        for model in sorted(self._dirty):
            index = self._indexes.get(model)
            if index is not None:
                index.save(self.index_dir)
        self._dirty.clear()
