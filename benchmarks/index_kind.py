"""Exact (flat) vs inverted-file index, as chosen by size in core/vector_index.py: build time,
query latency (k=10) and recall@10 against exact search, on clustered 768-d vectors.

    .venv/bin/python benchmarks/index_kind.py [--sizes 100000 300000] [--out benchmarks/results/index_kind.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from rap_desktop.core.vector_index import VectorIndex


def clustered(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.normal(size=(max(n // 50, 1), dim)).astype(np.float32)
    out = centres[rng.integers(0, len(centres), n)]
    out += 0.3 * rng.normal(size=(n, dim)).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000])
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    lines = [
        f"# Flat vs inverted-file index ({args.dim}-d clustered vectors, {args.queries} queries, k=10)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "",
        "| vectors | kind | build (s) | query median (ms) | recall@10 vs flat |",
        "|---:|---|---:|---:|---:|",
    ]
    for n in args.sizes:
        vectors = clustered(n, args.dim, rng)
        ids = np.arange(n)
        queries = vectors[rng.choice(n, args.queries, replace=False)] + 0.05 * rng.normal(
            size=(args.queries, args.dim)
        ).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        results = {}
        for kind, limit in (("flat", n), ("ivf", 0)):
            start = time.perf_counter()
            index = VectorIndex.build("bench", args.dim, 0, ids, vectors, flat_limit=limit)
            build = time.perf_counter() - start
            times, found = [], []
            for q in queries:
                t = time.perf_counter()
                found.append(index.search(q[None], 10)[1][0])
                times.append(time.perf_counter() - t)
            results[kind] = found
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(results["flat"], found, strict=True)])
            lines.append(f"| {n:,} | {kind} | {build:.1f} | {1000 * statistics.median(times):.2f} | {recall:.3f} |")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
