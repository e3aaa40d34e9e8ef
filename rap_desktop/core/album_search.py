"""Album search: photos where a concept is accepted (best first, confirmed ones marked), and photos
by a text description (CLIP text embedding against the stored region and whole-photo embeddings),
optionally within a concept's photos.

Text search runs over a FAISS flat index of the stored region vectors, cached in memory and on disk
and keyed by the album's region rows (count and newest id), so it is rebuilt only when regions changed.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from . import album_store
from .fsutil import atomic_file
from .store import Store


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


def _photo_info(store: Store, photo_ids: list[int]) -> dict[int, tuple[str, float | None]]:
    out = {}
    for start in range(0, len(photo_ids), 900):
        chunk = photo_ids[start : start + 900]
        marks = ",".join("?" * len(chunk))
        for pid, sha, taken in store.conn.execute(f"SELECT id, sha256, taken FROM photos WHERE id IN ({marks})", chunk):
            out[pid] = (sha, taken)
    return out


def by_concept(store: Store, name: str, limit: int | None = None) -> list[PhotoHit]:
    """Photos where `name` is accepted: confirmed first, then by similarity."""
    concept = store.get_concept(name)
    rows = store.conn.execute(
        "SELECT r.photo_id, r.ordinal, r.x1, r.y1, r.x2, r.y2, m.similarity, m.status = 'confirmed' "
        "FROM matches m JOIN regions r ON r.id = m.region_id WHERE m.concept_id = ? AND m.accepted = 1",
        (concept.id,),
    ).fetchall()
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
    def __init__(self, store: Store, embedder, cache_dir: Path | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.cache_dir = Path(cache_dir) if cache_dir else store.home / "cache" / "album"
        self._key: str | None = None
        self._index = None
        self._rows: np.ndarray = np.zeros((0, 2), np.int64)  # (region id, photo id) per index row

    def _current_key(self, model: str) -> str:
        count, newest = self.store.conn.execute(
            "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM regions WHERE model = ? AND vector IS NOT NULL", (model,)
        ).fetchone()
        return json.dumps({"model": model, "count": count, "newest": newest})

    def _file(self, model: str) -> Path:
        return self.cache_dir / f"regions-{''.join(c if c.isalnum() else '_' for c in model)}.npz"

    def _load(self, model: str) -> None:
        key = self._current_key(model)
        if key == self._key:
            return
        path = self._file(model)
        rows = vectors = None
        with contextlib.suppress(OSError, ValueError, KeyError), np.load(path) as cached:
            if str(cached["key"]) == key:
                rows, vectors = cached["rows"], cached["vectors"]
        if rows is None:
            found = self.store.conn.execute(
                "SELECT id, photo_id, vector FROM regions WHERE model = ? AND vector IS NOT NULL ORDER BY id", (model,)
            ).fetchall()
            rows = np.array([(r[0], r[1]) for r in found], np.int64).reshape(-1, 2)
            vectors = (
                np.stack([np.frombuffer(r[2], np.float32) for r in found]) if found else np.zeros((0, 1), np.float32)
            )
            with contextlib.suppress(OSError):  # a cache: a full disk only costs a rebuild next time
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                with atomic_file(path) as handle:
                    np.savez(handle, key=np.array(key), rows=rows, vectors=vectors)
        index = faiss.IndexFlatIP(vectors.shape[1])
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, np.float32))
        self._index, self._rows, self._vectors, self._key = index, rows, vectors, key

    def search(self, text: str, limit: int = 20, concept: str | None = None) -> list[PhotoHit]:
        """Photos whose best region is closest to `text`; with `concept`, only photos where it is accepted."""
        model = self.embedder.model_id
        self._load(model)
        query = np.ascontiguousarray(self.embedder.embed_texts([text]), np.float32)
        if not len(self._rows):
            return []
        if concept is not None:
            allowed = [h.photo_id for h in by_concept(self.store, concept)]
            mask = np.isin(self._rows[:, 1], allowed)
            sims = self._vectors[mask] @ query[0]
            order = np.argsort(-sims, kind="stable")
            picked = list(zip(sims[order].tolist(), np.flatnonzero(mask)[order].tolist(), strict=True))
        else:
            k = min(len(self._rows), max(limit * 16, 64))
            while True:  # regions, best first, until they cover `limit` photos
                sims, idx = self._index.search(query, k)
                picked = [(float(s), int(i)) for s, i in zip(sims[0], idx[0], strict=True) if i >= 0]
                if k >= len(self._rows) or len({int(self._rows[i, 1]) for _, i in picked}) >= limit:
                    break
                k = min(len(self._rows), k * 4)
        best: dict[int, tuple[float, int]] = {}
        for sim, i in picked:
            photo = int(self._rows[i, 1])
            if photo not in best:
                best[photo] = (sim, int(self._rows[i, 0]))
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
        for start in range(0, len(ids), 900):
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for rid, ordinal, *box in self.store.conn.execute(
                f"SELECT id, ordinal, x1, y1, x2, y2 FROM regions WHERE id IN ({marks})", chunk
            ):
                yield rid, (f"r{ordinal}", tuple(box))
