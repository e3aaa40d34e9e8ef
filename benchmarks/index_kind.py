"""Exact (flat) vs inverted-file index, as chosen by size in core/vector_index.py: build time,
query latency (k=10) and recall@10 against exact search, on clustered 768-d vectors.

    .venv/bin/python benchmarks/index_kind.py [--sizes 100000 300000] [--out benchmarks/results/index_kind.md]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from index_bench import clustered, run_table

from rap_desktop.core.vector_index import VectorIndex


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000])
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    def rows(n: int) -> list[list[str]]:
        vectors = clustered(n, args.dim, rng)
        ids = np.arange(n)
        queries = vectors[rng.choice(n, args.queries, replace=False)] + 0.05 * rng.normal(
            size=(args.queries, args.dim)
        ).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        found: dict[str, list] = {}
        out = []
        for kind, limit in (("flat", n), ("ivf", 0)):
            start = time.perf_counter()
            index = VectorIndex.build("bench", args.dim, 0, ids, vectors, flat_limit=limit)
            build = time.perf_counter() - start
            times, found[kind] = [], []
            for q in queries:
                t = time.perf_counter()
                found[kind].append(index.search(q[None], 10)[1][0])
                times.append(time.perf_counter() - t)
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found["flat"], found[kind], strict=True)])
            out.append([f"{n:,}", kind, f"{build:.1f}", f"{1000 * float(np.median(times)):.2f}", f"{recall:.3f}"])
        return out

    run_table(
        f"Flat vs inverted-file index ({args.dim}-d clustered vectors, {args.queries} queries, k=10)",
        ["vectors", "kind", "build (s)", "query median (ms)", "recall@10 vs flat"],
        args.sizes,
        rows,
        args.out,
        text_columns=(1,),
    )


if __name__ == "__main__":
    main()
