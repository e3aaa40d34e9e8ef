"""rank() (vectorised, used by retrieval and by the album re-match) against the plain per-query
reading of Store.search, on a real store with many concepts and exemplars."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from rap_desktop.core.images import load_image
from rap_desktop.core.retrieval import rank
from rap_desktop.core.store import NewConcept, NewExemplar, Store


def _image(n: int):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (n % 256, n // 256, 3)).save(buffer, "PNG")
    return load_image(buffer.getvalue())


def test_rank_is_the_best_exemplar_per_concept_best_first(home: Path) -> None:
    rng = np.random.default_rng(7)
    dim = 16

    def unit(v: np.ndarray) -> np.ndarray:
        return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)

    with Store(home) as store:
        made = 0
        concepts = []
        for c in range(12):  # 1 to 6 exemplars per concept, some nearly identical
            exemplars = []
            for _ in range(int(rng.integers(1, 7))):
                exemplars.append(NewExemplar(_image(made), vectors={"m": unit(rng.standard_normal(dim))}))
                made += 1
            concepts.append(NewConcept(f"c{c}", exemplars=tuple(exemplars)))
        store.add_many(concepts)
        store.remove_concept("c3")  # ids with no owner any more must be skipped
        queries = unit(rng.standard_normal((40, dim)))
        for neighbours in (1, 2, 5):
            got = rank(store, queries, neighbours, "m")
            expected = []
            for hits in store.search(queries, k=neighbours * 4, model="m"):
                best: dict[int, tuple] = {}
                for h in hits:
                    best.setdefault(h.concept_id, (h.concept_id, h.exemplar_id, h.concept, h.similarity))
                expected.append(list(best.values())[:neighbours])
            assert [[r[:3] for r in row] for row in got] == [[r[:3] for r in row] for row in expected]
            assert np.allclose([r[3] for row in got for r in row], [r[3] for row in expected for r in row])
            assert all(len(row) == min(neighbours, len(row)) and len({r[0] for r in row}) == len(row) for row in got)
        assert rank(store, queries[:0], 5, "m") == []
