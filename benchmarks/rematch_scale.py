"""Album re-match after one change at album scale: the full pass (what every change cost before) and the
incremental one (`rematch.update`) side by side, on `benchmarks/album.py`'s `at_scale` workload
(160,000 regions = a 20,000-photo album, 512-d, 50 concepts x 2 exemplars, half the regions near no
concept, 50 negatives, 50 confirmed matches). No model runs: vectors are synthetic, store and FAISS real.

For each kind of change: one change then the full pass (before); a second change of the same kind then
the incremental pass (after); then the full pass again as the check, which must find nothing to write.

    .venv/bin/python benchmarks/rematch_scale.py [--regions 160000] [--out benchmarks/rematch_scale.results.md]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).parent
_TMP = Path(tempfile.mkdtemp(prefix="rap-bench-rematch-"))


def _album_bench():
    """benchmarks/album.py, for its `fill_regions` (the same workload as its at_scale row)."""
    spec = importlib.util.spec_from_file_location("album_bench", HERE / "album.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


from rap_desktop.core import corrections  # noqa: E402
from rap_desktop.core.album import region_vectors, rematch, rematch_state  # noqa: E402
from rap_desktop.core.images import load_image, sha256_bytes  # noqa: E402
from rap_desktop.core.store import NewConcept, NewExemplar, Store  # noqa: E402

MODEL = "bench"
THRESHOLD = 0.75
KINDS = ("confirm", "reject", "undo", "rename", "new_concept", "random_concept", "remove")
BEFORE = ("confirm", "random_concept")  # the full pass costs about the same whatever changed


class _Model:
    """The embedder's place in the store (corrections name the model by it); nothing is embedded."""

    model_id = MODEL


def _png(code: int) -> bytes:
    image = Image.new("RGB", (32, 24), (code % 256, code // 256 % 256, 77))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


class Changes:
    def __init__(self, store: Store, dim: int, rng: np.random.Generator) -> None:
        self.store, self.dim, self.rng, self.n = store, dim, rng, 0
        self.regions = store.conn.execute("SELECT id, photo_id, ordinal, vector FROM regions").fetchall()

    def _code(self) -> int:
        self.n += 1
        return self.n

    def _photo_file(self, photo_id: int) -> str:
        """Give the photo a real file (corrections crop the region from it)."""
        data = _png(1000 + photo_id)
        path = _TMP / f"photo-{photo_id}.png"
        path.write_bytes(data)
        with self.store.transaction():
            self.store.conn.execute(
                "UPDATE photos SET sha256 = ?, path = ? WHERE id = ?", (sha256_bytes(data), str(path), photo_id)
            )
        return sha256_bytes(data)

    def _accepted_region(self) -> tuple[str, str]:
        photo_id, ordinal = self.store.conn.execute(
            "SELECT r.photo_id, r.ordinal FROM regions r JOIN matches m ON m.region_id = r.id "
            "WHERE m.accepted = 1 AND m.status = 'auto' ORDER BY r.id LIMIT 1 OFFSET ?",
            (int(self.rng.integers(0, 5000)),),
        ).fetchone()
        return self._photo_file(photo_id), f"r{ordinal}"

    def new_concept(self) -> str:
        """A new concept from one photo of someone the album has many photos of (an unknown cluster)."""
        region = self.regions[int(self.rng.integers(0, len(self.regions)))]
        vector = np.frombuffer(region[3], np.float32)
        code = self._code()
        exemplar = NewExemplar(load_image(_png(code), name=f"x{code}"), vectors={MODEL: vector})
        self.store.add_many([NewConcept(f"new{code}", exemplars=(exemplar,))])
        return "new concept (one photo of a region in the album)"

    def random_concept(self) -> str:
        """As album.py's at_scale edit: a concept whose photo looks like nothing in the album."""
        vector = self.rng.standard_normal(self.dim).astype(np.float32)
        vector /= np.linalg.norm(vector)
        code = self._code()
        exemplar = NewExemplar(load_image(_png(code), name=f"x{code}"), vectors={MODEL: vector})
        self.store.add_many([NewConcept(f"extra{code}", exemplars=(exemplar,))])
        return "new concept (looks like nothing in the album; album.py's edit)"

    def confirm(self) -> str:
        sha, region = self._accepted_region()
        corrections.confirm(self.store, sha, region)
        return "confirm (Yes on a recognised region: a new exemplar)"

    def reject(self) -> str:
        sha, region = self._accepted_region()
        corrections.reject(self.store, sha, region)
        return "reject (No on a recognised region: a new negative)"

    def undo(self) -> str:
        corrections.reject(self.store, *self._accepted_region())
        rematch.update(self.store, MODEL, THRESHOLD)  # the rejection itself is not what is timed
        corrections.undo(self.store)
        return "undo (of a rejection)"

    def rename(self) -> str:
        name = f"k{int(self.rng.integers(0, 50))}"
        concept = self.store.find_concept(name) or self.store.find_concept(name + "r")
        self.store.edit_concept(concept.name, rename=name if concept.name.endswith("r") else name + "r", info="x")
        return "rename / edit a concept"

    def remove(self) -> str:
        name = next(c.name for c in self.store.list_concepts() if c.name.startswith(("new", "extra")))
        self.store.remove_concept(name)
        return "remove a concept"


def run(regions: int, dim: int) -> tuple[list[dict], dict]:
    album = _album_bench()
    rng = np.random.default_rng(0)
    store = Store(_TMP / "home", _Model())
    start = time.perf_counter()
    album.fill_regions(store, regions, dim, 50, rng)
    filled = time.perf_counter() - start
    first = rematch.rematch(store, MODEL, THRESHOLD)
    print(f"filled {regions} regions in {filled:.0f} s; first full pass {first.seconds:.2f} s", flush=True)
    changes = Changes(store, dim, rng)
    before = {}
    for kind in BEFORE:  # the full pass after a change: what every change cost until now
        getattr(changes, kind)()
        before[kind] = rematch.rematch(store, MODEL, THRESHOLD)
        print(kind, "full pass", f"{before[kind].seconds:.2f} s", flush=True)
    rows = []
    for kind in KINDS:  # then only incremental passes, so that none of their rows is fixed up by a full one
        what = getattr(changes, kind)()
        rows.append({"what": what, "before": before.get(kind), "after": rematch.update(store, MODEL, THRESHOLD)})
        print(what, _line(rows[-1]), flush=True)
    # a new process: the record and the region matrix come from the disk cache, not memory
    changes.confirm()
    region_vectors._MEMORY.clear()
    rematch_state._MEMORY.clear()
    rows.append(
        {
            "what": "confirm, in a new process (record + region matrix read from disk)",
            "before": None,
            "after": rematch.update(store, MODEL, THRESHOLD),
        }
    )
    print(rows[-1]["what"], _line(rows[-1]), flush=True)
    check = rematch.rematch(store, MODEL, THRESHOLD)
    print(f"check: the full pass after all incremental ones wrote {check.written} rows", flush=True)
    store.close()
    return rows, {"filled": filled, "first": first, "check": check}


def _parts(report) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in report.timings.items())


def _line(row: dict) -> str:
    before = f"{row['before'].seconds:.2f} s" if row["before"] else "-"
    a = row["after"]
    return (
        f"before {before}, after {a.seconds:.3f} s ({'full' if a.full else 'incremental'}; {_parts(a)}; "
        f"{a.searched:,} regions searched, {a.redecided:,} decided again, {a.written:,} rows written)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--regions", type=int, default=160_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--out", type=Path, default=HERE / "rematch_scale.results.md")
    args = parser.parse_args()
    rows, extra = run(args.regions, args.dim)
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if line.startswith("Model name")), "?")
    lines = [
        "# Album re-match after one change, at scale",
        "",
        f"Machine: {platform.platform()}, `nproc` {os.cpu_count()}, {model}; load average (1, 5, 15 min) "
        f"{'/'.join(f'{v:.1f}' for v in os.getloadavg())} at the end. CPU only, no model run.",
        f"Script: `benchmarks/rematch_scale.py --regions {args.regions}`. Workload: `benchmarks/album.py`'s "
        f"at_scale store: {args.regions:,} regions ({args.regions // 8:,} photos x 8), {args.dim}-d, 50 concepts x 2 "
        "exemplars, half the regions near no concept, 50 negatives, 50 confirmed matches; filled in "
        f"{extra['filled']:.0f} s; the first full pass (every row new) took {extra['first'].seconds:.2f} s.",
        "",
        "**Before**: a change, then the full pass (`rematch.rematch`: what every change cost until now; it costs "
        "about the same whatever changed, so it is timed for two kinds). **After**: then, one change of each "
        "kind, each followed by the incremental pass (`rematch.update`, what `after_change` runs now), none "
        "of them followed by a full pass. **Check**: the full pass after all of them had "
        f"{extra['check'].written} rows to write (0 = the incremental passes left exactly the full pass's rows).",
        "",
        "| change | before (full pass) | after (incremental) | after: parts (s) | regions searched again "
        "| regions decided again | rows written |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for row in rows:
        before, after = row["before"], row["after"]
        lines.append(
            f"| {row['what']} | {f'{before.seconds:.2f} s' if before else '-'} | {after.seconds:.3f} s"
            f"{'' if not after.full else ' (full)'} | {_parts(after)} | {after.searched:,} | {after.redecided:,} "
            f"| {after.written:,} |"
        )
    lines.append("")
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    shutil.rmtree(_TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
