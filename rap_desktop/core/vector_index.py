"""FAISS indexes over exemplar embeddings: a derived cache, one per embedding model.

Each index knows the store generation it reflects. On disk it is `<cache>/<model hash>.faiss`
plus a JSON header (model, generation, count, checksum); a header that does not match the store,
or a file that does not parse, means "rebuild from SQLite" — never "trust it".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from .fsutil import write_atomic

FLAT_LIMIT = 100_000  # exact search stays fast enough up to here (~30 ms per query at 768-d)
NPROBE = 32  # inverted lists visited per query


def _file_stem(model: str) -> str:
    # Model ids come from settings files; never let one shape a path.
    return hashlib.sha256(model.encode("utf-8")).hexdigest()[:24]


@dataclass
class VectorIndex:
    """Inner-product search over L2-normalised vectors (= cosine similarity), ids = exemplar ids."""

    model: str
    dim: int
    generation: int
    index: faiss.Index  # IndexIDMap2(IndexFlatIP) or IndexIVFFlat (inner product)

    @classmethod
    def build(
        cls, model: str, dim: int, generation: int, ids: np.ndarray, vectors: np.ndarray, flat_limit: int = FLAT_LIMIT
    ) -> VectorIndex:
        """Exact (flat) search up to `flat_limit` vectors; an inverted-file index beyond, which
        keeps the same add/remove-by-id API (HNSW cannot remove) at a fraction of the query time."""
        vectors = np.ascontiguousarray(vectors, np.float32)
        if len(ids) <= flat_limit:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        else:
            nlist = int(4 * np.sqrt(len(ids)))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
            sample = vectors[
                np.random.default_rng(0).choice(len(vectors), min(len(vectors), 64 * nlist), replace=False)
            ]
            index.train(sample)
            index.nprobe = NPROBE
        if len(ids):
            index.add_with_ids(vectors, np.asarray(ids, np.int64))
        return cls(model, dim, generation, index)

    @property
    def count(self) -> int:
        return int(self.index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.index.add_with_ids(np.ascontiguousarray(vectors, np.float32), np.asarray(ids, np.int64))

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self.index.remove_ids(np.asarray(ids, np.int64))

    def ids(self) -> np.ndarray:
        if isinstance(self.index, faiss.IndexIDMap2):
            return faiss.vector_to_array(self.index.id_map).astype(np.int64)
        lists = self.index.invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
            for i in range(self.index.nlist)
            if lists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, ids), each (n_queries, k'); k' = min(k, count); missing slots have id -1."""
        k = min(k, self.count)
        if k == 0:
            n = len(queries)
            return np.zeros((n, 0), np.float32), np.zeros((n, 0), np.int64)
        return self.index.search(np.ascontiguousarray(queries, np.float32), k)

    def save(self, folder: Path) -> None:
        data = faiss.serialize_index(self.index).tobytes()
        stem = _file_stem(self.model)
        write_atomic(folder / f"{stem}.faiss", data)
        header = {
            "model": self.model,
            "dim": self.dim,
            "generation": self.generation,
            "count": self.count,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        write_atomic(folder / f"{stem}.json", json.dumps(header).encode("utf-8"))

    @classmethod
    def load(cls, folder: Path, model: str, generation: int, count: int) -> VectorIndex | None:
        """The cached index if it is intact and exactly at `generation` with `count` vectors."""
        stem = _file_stem(model)
        try:
            header = json.loads((folder / f"{stem}.json").read_text(encoding="utf-8"))
            if (header.get("model"), header.get("generation"), header.get("count")) != (model, generation, count):
                return None
            data = (folder / f"{stem}.faiss").read_bytes()
            if hashlib.sha256(data).hexdigest() != header.get("sha256"):
                return None
            index = faiss.deserialize_index(np.frombuffer(data, np.uint8))
        except (OSError, ValueError, RuntimeError, TypeError, AttributeError):
            return None
        if not isinstance(index, faiss.IndexIDMap2 | faiss.IndexIVFFlat):
            return None
        if index.ntotal != count or index.d != header.get("dim"):
            return None
        if isinstance(index, faiss.IndexIVFFlat):
            index.nprobe = NPROBE
        return cls(model, int(header["dim"]), generation, index)
