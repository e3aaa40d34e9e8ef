"""What the index benchmarks (index_kind.py, index_cache.py) share: clustered unit vectors like real
embeddings, a median timer, the machine line, and the loop that runs one measurement per store size
and prints / writes the markdown table row by row."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def clustered(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """n unit vectors around n/50 random centres (spread 0.3), float32."""
    centres = rng.normal(size=(max(n // 50, 1), dim)).astype(np.float32)
    out = centres[rng.integers(0, len(centres), n)]
    out += 0.3 * rng.normal(size=(n, dim)).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds of `repeats` calls."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def machine() -> str:
    return (
        f"{platform.node() or 'unknown'}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


def run_table(
    title: str,
    header: Sequence[str],
    sizes: Sequence[int],
    rows: Callable[[int], list[list[str]]],
    out: Path | None,
    text_columns: Sequence[int] = (),
) -> str:
    """The markdown report: `rows(n)` measures one size and returns its table rows (cells as text),
    printed as they come (a long run shows progress); written to `out` when given. Columns are
    right-aligned numbers except those in `text_columns`."""
    lines = [
        f"# {title}",
        "",
        f"Machine: {machine()}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i in text_columns else "---:" for i in range(len(header))) + "|",
    ]
    for n in sizes:
        for cells in rows(n):
            lines.append("| " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    print(text)
    return text
