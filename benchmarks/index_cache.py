"""Start-up cost of the search index: our persisted FAISS cache vs rebuilding from SQLite each run
(what the reference does), and one query, at several store sizes. Real SQLite + FAISS, 768-d
vectors (CLIP ViT-L/14's width), clustered like real embeddings.

    .venv/bin/python benchmarks/index_cache.py [--sizes 1000 10000 100000] [--out benchmarks/results/index_cache.md]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from index_bench import clustered, median_time, run_table

from rap_desktop.core.store import Store


def fill(store: Store, n: int, dim: int, rng: np.random.Generator) -> None:
    vectors = clustered(n, dim, rng)
    now = time.time()
    with store.transaction():  # bulk rows straight into SQLite: we time reading them back, not adding
        store.conn.execute(
            "INSERT INTO concepts(id, name, name_key, created, updated) VALUES (1, 'c', 'c', ?, ?)", (now, now)
        )
        store.conn.executemany(
            "INSERT INTO exemplars(id, concept_id, image, width, height, source, created) "
            "VALUES (?, 1, 'x.png', 1, 1, 'registered', ?)",
            [(i + 1, now) for i in range(n)],
        )
        store.conn.executemany(
            "INSERT INTO embeddings(exemplar_id, model, dim, vector) VALUES (?, 'bench', ?, ?)",
            [(i + 1, dim, vectors[i].tobytes()) for i in range(n)],
        )


def measure(n: int, dim: int, repeats: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        store = Store(home)
        fill(store, n, dim, rng)
        store.index("bench")
        store.flush()
        generation = store.generation()
        store.close()

        def cached() -> None:
            s = Store(home)
            assert s.index("bench").generation == generation
            s.conn.close()

        def rebuilt() -> None:
            s = Store(home)
            s.conn.execute("BEGIN")
            s._build_index("bench", generation)
            s.conn.execute("COMMIT")
            s.conn.close()

        store = Store(home)
        index = store.index("bench")
        query = rng.normal(size=(1, dim)).astype(np.float32)
        result = {
            "cached_s": median_time(cached, repeats),
            "rebuild_s": median_time(rebuilt, repeats),
            "query_ms": 1000 * median_time(lambda: store.search(query, 2, "bench"), repeats * 5),
            "count": index.count,
        }
        store.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    def rows(n: int) -> list[list[str]]:
        r = measure(n, args.dim, args.repeats)
        speedup = r["rebuild_s"] / r["cached_s"]
        return [[f"{n:,}", f"{r['cached_s']:.3f}", f"{r['rebuild_s']:.3f}", f"{speedup:.1f}x", f"{r['query_ms']:.2f}"]]

    run_table(
        f"Index start-up: cached vs rebuilt ({args.dim}-d, median of {args.repeats})",
        ["vectors", "open with cached index (s)", "rebuild from SQLite (s)", "speed-up", "query k=2 (ms)"],
        args.sizes,
        rows,
        args.out,
    )


if __name__ == "__main__":
    main()
