"""What one "Yes" costs before the re-match: confirming a region of a 12-MP photo keeps its pixels as a
new photo of the concept (read the photo, cut the region, store it as PNG). Two checkouts side by side.

    .venv/bin/python benchmarks/confirm_crop.py [--base DIR] [--photos 6] [--rounds 3] [--out FILE]

The album is working_size.py's: 4000x3000 JPEGs with a phone photo's entropy (3-5 MB each). Each
round is a fresh process per checkout: index the photos with the tiny models, then confirm, in each
photo, its largest region (the whole photo left out) and its smallest one as <cat>, timing
`corrections.confirm` (the store-side correction a click runs before the album is re-matched:
`benchmarks/rematch_scale.py` measures that part). Also reported: the stored photo's size on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from base_vs_new import Table, alternate, checkouts, commit, cpu_model, run_child  # benchmarks/, beside this script
from working_size import album, models


def worker(args) -> dict:
    import rap_desktop.torch_compat  # noqa: F401  (before torchvision / ultralytics / open_clip)
    from rap_desktop.core import corrections
    from rap_desktop.core.session import Session
    from rap_desktop.core.store import photos as photo_rows

    try:
        from rap_desktop.core.album.indexer import Indexer
    except ImportError:  # code from before the core/ packages
        from rap_desktop.core.album import Indexer  # type: ignore[no-redef, attr-defined]

    paths = album(args.photos, make=False)["12mp"]
    folder = Path(tempfile.mkdtemp(prefix="rap-cc-album-"))
    for path in paths:
        (folder / path.name).symlink_to(path)
    session = Session.open(Path(tempfile.mkdtemp(prefix="rap-cc-")) / "home", models("tiny"))
    store = session.store()
    store.add_concept("cat", paths[0], category="cat")
    Indexer(session.retriever(), batch_size=4).index([folder])
    model = session.embedder.model_id
    timings: dict[str, list[float]] = {"largest": [], "smallest": []}
    stored: dict[str, list[int]] = {"largest": [], "smallest": []}
    for path in sorted(folder.iterdir()):
        photo, _, _ = photo_rows.find_photo(store, str(path))
        regions = [r for r in photo_rows.regions(store, photo, model) if r.source != "whole"]
        by_area = sorted(regions, key=lambda r: (r.box[2] - r.box[0]) * (r.box[3] - r.box[1]))
        for kind, region in (("largest", by_area[-1]), ("smallest", by_area[0])):
            start = time.perf_counter()
            corrections.confirm(store, str(path), region.name, "cat")
            timings[kind].append(time.perf_counter() - start)
            newest = max(store.exemplars("cat"), key=lambda e: e.id)
            stored[kind].append(os.path.getsize(store.image_path(newest.image)))
    session.close()
    return {
        kind: {"s": statistics.median(times), "kb": statistics.median(stored[kind]) / 1024}
        for kind, times in timings.items()
    }


def _med(values) -> float:
    return statistics.median(list(values))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path)
    parser.add_argument("--photos", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(args)), flush=True)
        return
    album(args.photos), models("tiny")
    codes = checkouts(args.base)
    worker_args = ["--photos", str(args.photos)]
    results = alternate(codes, args.rounds, lambda code: run_child(__file__, code, worker_args, timeout=1800))
    lines = [
        "# Confirming a region of a 12-MP photo: the store-side cost of one Yes",
        "",
        f"Machine: {os.cpu_count()} cores ({cpu_model()}), load average {os.getloadavg()[0]:.1f} at the end. "
        f"Script: `benchmarks/confirm_crop.py --photos {args.photos} --rounds {args.rounds}`. Medians over "
        "the photos of each round, then over the rounds; tiny models (no model runs in a confirm). Code: "
        + ", ".join(f"{name} = {commit(code)}" for name, code in codes.items())
        + ".",
        "",
    ]
    table = Table(lines, codes, results)
    for kind in ("largest", "smallest"):
        table.row(f"{kind} region: s per confirm", lambda rs, k=kind: f"{_med(r[k]['s'] for r in rs):.3f}")
        table.row(f"{kind} region: stored photo, KB", lambda rs, k=kind: f"{_med(r[k]['kb'] for r in rs):.0f}")
    text = table.text()
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
