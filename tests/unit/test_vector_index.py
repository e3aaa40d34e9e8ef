"""Both index kinds keep one API: add/remove by id, search, ids, save/load."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from rap_desktop.core.vector_index import VectorIndex


def _clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(n // 50, 1), dim))
    vectors = (centres[rng.integers(0, len(centres), n)] + 0.3 * rng.normal(size=(n, dim))).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("flat_limit", [10**9, 100])
def test_same_api_for_flat_and_inverted_file(tmp_path: Path, flat_limit: int) -> None:
    vectors = _clustered(8000, 32)
    ids = np.arange(100, 8100)
    index = VectorIndex.build("m", 32, 7, ids, vectors, flat_limit=flat_limit)
    expected = faiss.IndexIVFFlat if flat_limit == 100 else faiss.IndexIDMap2
    assert isinstance(index.index, expected)
    assert sorted(index.ids().tolist()) == ids.tolist()
    sims, found = index.search(vectors[:50], 5)
    assert (found[:, 0] == ids[:50]).mean() >= 0.95  # each vector finds itself first
    assert np.all(np.diff(sims, axis=1) <= 1e-6)
    index.remove(np.array([100, 101]))
    assert index.count == 7998 and 100 not in set(index.ids().tolist())
    index.add(np.array([5]), vectors[:1])
    assert index.search(vectors[:1], 1)[1][0, 0] == 5
    index.save(tmp_path)
    loaded = VectorIndex.load(tmp_path, "m", 7, index.count)
    assert loaded is not None and isinstance(loaded.index, expected)
    assert loaded.search(vectors[:1], 1)[1][0, 0] == 5
    assert VectorIndex.load(tmp_path, "m", 8, index.count) is None
    assert VectorIndex.load(tmp_path, "other", 7, index.count) is None
