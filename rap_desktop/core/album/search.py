"""Album search: photos where a concept is accepted (best first, confirmed ones marked), and photos
by a text description (CLIP text embedding against the stored region and whole-photo embeddings),
optionally within a concept's photos.

Text search runs over a FAISS flat index of the stored region vectors (region_vectors: cached in
memory and on disk, re-read only when regions changed).
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

from ..store import Store, matches
from ..store import album as album_store
from ..store.photos import photo_info as _photo_info
from ..store.photos import region_boxes
from . import region_vectors


@dataclass(frozen=True)
class PhotoHit:
    photo_id: int
    sha256: str
    path: str | None
    score: float  # similarity of the best region (concept) or of the best region to the text
    region: str  # "r1": the region that scored
    box: tuple[float, float, float, float]
    confirmed: bool = False  # the user confirmed this concept here
    taken: float | None = None


def by_concept(store: Store, name: str, limit: int | None = None) -> list[PhotoHit]:
    """Photos where `name` is accepted: confirmed first, then by similarity."""
    concept = store.get_concept(name)
    rows = matches.accepted_regions(store, concept.id)
    best: dict[int, tuple] = {}
    for row in rows:
        key = (row[7], row[6])
        if row[0] not in best or key > (best[row[0]][7], best[row[0]][6]):
            best[row[0]] = row
    ordered = sorted(best.values(), key=lambda r: (-r[7], -r[6], r[0]))[:limit]
    ids = [r[0] for r in ordered]
    info, paths = _photo_info(store, ids), album_store.photo_paths(store, ids)
    return [
        PhotoHit(
            r[0],
            info[r[0]][0],
            paths.get(r[0]),
            float(r[6]),
            f"r{r[1]}",
            (r[2], r[3], r[4], r[5]),
            bool(r[7]),
            info[r[0]][1],
        )
        for r in ordered
    ]


class TextSearch:
    def __init__(self, store: Store, embedder) -> None:
        self.store = store
        self.embedder = embedder
        self._key: str | None = None
        self._index = None

    def _load(self, model: str) -> region_vectors.RegionVectors:
        matrix = region_vectors.load(self.store, model)
        if matrix.key != self._key:  # the FAISS flat index over the matrix, rebuilt when it changed
            self._index = faiss.IndexFlatIP(matrix.vectors.shape[1])
            self._index.add(np.ascontiguousarray(matrix.vectors, np.float32))
            self._key = matrix.key
        return matrix

    def search(self, text: str, limit: int = 20, concept: str | None = None) -> list[PhotoHit]:
        """Photos whose best region is closest to `text`; with `concept`, only photos where it is accepted."""
        matrix = self._load(self.embedder.model_id)
        query = np.ascontiguousarray(self.embedder.embed_texts([text]), np.float32)
        if not len(matrix.rows):
            return []
        if concept is not None:
            allowed = [h.photo_id for h in by_concept(self.store, concept)]
            mask = np.isin(matrix.rows[:, 1], allowed)
            sims = matrix.vectors[mask] @ query[0]
            order = np.argsort(-sims, kind="stable")
            picked = list(zip(sims[order].tolist(), np.flatnonzero(mask)[order].tolist(), strict=True))
        else:
            k = min(len(matrix.rows), max(limit * 16, 64))
            while True:  # regions, best first, until they cover `limit` photos
                sims, idx = self._index.search(query, k)
                picked = [(float(s), int(i)) for s, i in zip(sims[0], idx[0], strict=True) if i >= 0]
                if k >= len(matrix.rows) or len({int(matrix.rows[i, 1]) for _, i in picked}) >= limit:
                    break
                k = min(len(matrix.rows), k * 4)
        best: dict[int, tuple[float, int]] = {}
        for sim, i in picked:
            photo = int(matrix.rows[i, 1])
            if photo not in best:
                best[photo] = (sim, int(matrix.rows[i, 0]))
            if len(best) >= limit:
                break
        ids = list(best)
        info, paths = _photo_info(self.store, ids), album_store.photo_paths(self.store, ids)
        regions = dict(self._regions([rid for _, rid in best.values()]))
        return [
            PhotoHit(pid, info[pid][0], paths.get(pid), sim, *regions[rid], taken=info[pid][1])
            for pid, (sim, rid) in best.items()
        ]

    def _regions(self, ids: list[int]):
        for rid, (ordinal, box) in region_boxes(self.store, ids).items():
            yield rid, (f"r{ordinal}", box)
