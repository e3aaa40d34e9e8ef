"""All stored region embeddings of one model as one matrix, for re-matching and text search.

Reading 10^5 vectors out of SQLite takes seconds; the matrix is cached in memory and on disk, keyed
by the model's region rows (their count and newest id: regions are only ever added or deleted,
never changed in place), so it is re-read only when regions changed.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..fsutil import atomic_file
from ..store import Store, photos

_MEMORY: dict[tuple[str, str], RegionVectors] = {}


@dataclass(frozen=True)
class RegionVectors:
    key: str
    rows: np.ndarray  # (n, 3) int64: region id, photo id, ordinal; sorted by region id
    vectors: np.ndarray  # (n, dim) float32, L2-normalised as stored

    @property
    def ids(self) -> np.ndarray:
        return self.rows[:, 0]

    @property
    def photo_ids(self) -> np.ndarray:
        return self.rows[:, 1]


def current_key(store: Store, model: str) -> str:
    count, newest = photos.region_key(store, model)  # no row (and no vector blob) is read
    return json.dumps({"model": model, "count": count, "newest": newest})


def _file(store: Store, model: str) -> Path:
    return store.home / "cache" / "album" / f"regions-{''.join(c if c.isalnum() else '_' for c in model)}.npz"


def _read(store: Store, model: str, key: str) -> RegionVectors:
    return RegionVectors(key, *photos.region_matrix(store, model))


def load(store: Store, model: str) -> RegionVectors:
    key = current_key(store, model)
    memory_key = (str(store.home), model)
    cached = _MEMORY.get(memory_key)
    if cached is not None and cached.key == key:
        return cached
    path = _file(store, model)
    matrix = None
    with contextlib.suppress(OSError, ValueError, KeyError), np.load(path) as stored:
        if str(stored["key"]) == key:
            matrix = RegionVectors(key, stored["rows"], stored["vectors"])
    if matrix is None:
        matrix = _read(store, model, key)
        with contextlib.suppress(OSError):  # a cache: a full disk only costs a re-read next time
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_file(path) as handle:
                np.savez(handle, key=np.array(key), rows=matrix.rows, vectors=matrix.vectors)
    _MEMORY[memory_key] = matrix
    return matrix
