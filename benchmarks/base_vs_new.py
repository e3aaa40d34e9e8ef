"""Running one measurement under two checkouts (`--base` and this one) and writing the side-by-side
table: shared by people_import.py and viewer.py. Each run is a fresh process of the calling script with
`--worker`, the checkout first on PYTHONPATH; it prints one "RESULT <json>" line."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The environment the calling script started with (this module is imported first): a library it
# imports later may change it (ultralytics sets OMP_NUM_THREADS=1), and a child inheriting that would
# run torch on one core.
START_ENV = dict(os.environ)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def head(code: Path) -> str:
    """The short commit id a checkout is at ("?" outside git)."""
    done = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "?"


def commit(code: Path) -> str:
    """The commit a checkout is at, and whether it has changes on top."""
    git = ["git", "-C", str(code), "status", "--porcelain", "--untracked-files=no"]
    dirty = subprocess.run(git, capture_output=True, text=True).stdout.strip()
    return f"`{head(code)}`" + (" with uncommitted changes" if dirty else "")


def checkouts(base: Path | None) -> dict[str, Path]:
    """The checkouts measured: the base (when given) and this one."""
    return ({"base": base.resolve()} if base else {}) | {"new": HERE.parent}


def run_child(script: str, code: Path, worker_args: list[str], timeout: int) -> dict:
    """One measurement of `script` with `code`'s package, in a fresh process."""
    env = {**START_ENV, "PYTHONPATH": str(code)}
    command = [sys.executable, script, "--worker", *worker_args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=code, timeout=timeout)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"the run with {code} failed:\n{done.stderr[-4000:]}")
    return json.loads(line[len("RESULT ") :])


def alternate(checkouts: dict[str, Path], rounds: int, measure: Callable[[Path], dict]) -> dict[str, list[dict]]:
    """`rounds` measurements of each checkout, base and new alternating (neither always runs first)."""
    results: dict[str, list[dict]] = {name: [] for name in checkouts}
    for round_ in range(rounds):
        order = list(checkouts) if round_ % 2 == 0 else list(checkouts)[::-1]
        for name in order:
            result = measure(checkouts[name])
            results[name].append(result)
            print(f"round {round_ + 1} {name}: {json.dumps(result)}", flush=True)
    return results


class Table:
    """A markdown table with a column per checkout, then each round's raw result."""

    def __init__(self, lines: list[str], checkouts: dict[str, Path], results: dict[str, list[dict]]) -> None:
        self.lines, self.checkouts, self.results = lines, checkouts, results
        self.lines += ["| what | " + " | ".join(checkouts) + " |", "|---|" + "---:|" * len(checkouts)]

    def row(self, label: str, fn: Callable[[list[dict]], str]) -> None:
        self.lines.append(f"| {label} | " + " | ".join(fn(self.results[name]) for name in self.checkouts) + " |")

    def text(self) -> str:
        lines = [*self.lines, "", "Per round (raw):", ""]
        for name, rs in self.results.items():
            lines += [f"- {name}: `{json.dumps(r)}`" for r in rs]
        return "\n".join(lines) + "\n"
