"""Album text search, before and after the relevance cut, side by side in one run: the old search
(FAISS flat top-k over the regions until 200 photos are covered, as the window asked for, and
their hits read) and the
new one (every region scored, best region per photo, the cut, the hits above it). The region matrix
is cached in both (the first query's read from SQLite is left out); 8 regions per photo, 512-d
vectors around 100 cluster centres, the query near one centre. No model runs: the query vector
stands in for the CLIP text embedding.

    .venv/bin/python benchmarks/text_search.py [--regions 10000 160000] [--out benchmarks/text_search.results.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
from store_setup import insert_photo_regions  # benchmarks/, beside this script

from rap_desktop.core.album import region_vectors
from rap_desktop.core.album.search import PhotoHit, TextSearch
from rap_desktop.core.store import Store
from rap_desktop.core.store import album as album_store
from rap_desktop.core.store.photos import photo_info, region_boxes

DIM = 512


class QueryVector:
    """Stands in for the embedder: `embed_texts` returns a fixed vector near one cluster."""

    model_id = "bench"

    def __init__(self, vector: np.ndarray) -> None:
        self.vector = vector

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return np.repeat(self.vector[None], len(texts), axis=0)


class OldTextSearch:
    """core/album/search.py's TextSearch before the cut, verbatim but for its names: the FAISS flat index
    over the cached region matrix, top regions until `limit` photos are covered, their hits read."""

    def __init__(self, store: Store, embedder) -> None:
        self.store = store
        self.embedder = embedder
        self._key: str | None = None
        self._index = None

    def _load(self, model: str) -> region_vectors.RegionVectors:
        matrix = region_vectors.load(self.store, model)
        if matrix.key != self._key:
            self._index = faiss.IndexFlatIP(matrix.vectors.shape[1])
            self._index.add(np.ascontiguousarray(matrix.vectors, np.float32))
            self._key = matrix.key
        return matrix

    def search(self, text: str, limit: int = 200) -> list[PhotoHit]:
        matrix = self._load(self.embedder.model_id)
        query = np.ascontiguousarray(self.embedder.embed_texts([text]), np.float32)
        k = min(len(matrix.rows), max(limit * 16, 64))
        while True:
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
        info, paths = photo_info(self.store, ids), album_store.photo_paths(self.store, ids)
        regions = {
            rid: (f"r{o}", box) for rid, (o, box) in region_boxes(self.store, [r for _, r in best.values()]).items()
        }
        return [
            PhotoHit(pid, info[pid][0], paths.get(pid), sim, *regions[rid], taken=info[pid][1])
            for pid, (sim, rid) in best.items()
        ]


def fill(store: Store, regions: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.standard_normal((100, DIM)).astype(np.float32)
    labels = rng.integers(0, 100, regions)
    vectors = centres[labels] + 0.8 * rng.standard_normal((regions, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with store.transaction():
        insert_photo_regions(store, vectors, "x")
    query = centres[0] + 0.5 * rng.standard_normal(DIM).astype(np.float32)
    return query / np.linalg.norm(query)


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def run(regions: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    home = Path(tempfile.mkdtemp(prefix="rap-bench-text-"))
    store = Store(home)
    try:
        query = fill(store, regions, rng)
        before = OldTextSearch(store, QueryVector(query))
        before.search("q")  # both: the matrix read once and cached
        old_ms = _median_ms(lambda: before.search("q"), repeats)
        search = TextSearch(store, QueryVector(query))
        found = search.search("q")
        new_ms = _median_ms(lambda: search.search("q"), repeats)
        return {
            "regions": regions,
            "photos": regions // 8,
            "old_ms": old_ms,
            "old_photos": 200,
            "new_ms": new_ms,
            "found": found.found,
            "rule": found.cut.rule,
        }
    finally:
        store.close()


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    usable = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{os.cpu_count()} cores ({usable} usable), {cpu}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--regions", type=int, nargs="+", default=[10_000, 160_000])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = [run(n, args.repeats) for n in args.regions]
    lines = [
        "# Album text search: before and after the relevance cut",
        "",
        f"Machine: {machine()}, 2 cores shared/contended with other work. "
        f"`.venv/bin/python benchmarks/text_search.py` ({args.repeats} queries each, median; matrix cached).",
        "",
        "| regions | photos | before: top 200 photos (FAISS flat) | after: every photo scored + cut | found |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['regions']:,} | {r['photos']:,} | {r['old_ms']:.1f} ms | {r['new_ms']:.1f} ms | "
        f"{r['found']} ({r['rule']}) |"
        for r in rows
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
