"""The "Who's this?" queue at album scale: 20,000 photos, ~160,000 regions, the listing of unknown groups
cached between answers (now) against clustering the newest 10,000 unmatched regions again for every
question (before), side by side in one run on the same store.

    .venv/bin/python benchmarks/review_queue.py [--photos 20000] [--rounds 4]

A real store (SQLite through the Store API, the session of the tiny real-format models, whose CLIP is
512-d) gets `--photos` photo rows (photos + album_files, as benchmarks/timeline.py's; no photo files),
8 regions each with stored 512-d vectors, and concepts with two exemplars each (as benchmarks/album.py's
fill_regions writes them). The vectors: 45% of the regions are photos of 40 named people (a few of them
look-alike siblings; most matches well over the acceptance threshold, some just over it), 25% belong to
600 unnamed look-alike sets (strangers, relatives never named: 5-60 regions each, a fifth of them near a
named person, so the queue asks "Is this NAME?"), 30% look like nothing else. The match rows come from
the album's own full re-match pass.

Timed (each "before" right after the "after" on the same store state, p50 and max over the rounds):
- first `review.queue` (the window's 50 questions) on a store no listing was stored for;
- the next question after an answer: yes / no / hide on a group (through the core action the window and
  the CLI use, re-match included, not timed), skip (a question set aside, nothing written);
- `review next --json` through the CLI entry (`rap_desktop.cli.main`, a new session each time, as a shell
  runs it), after an answer;
- `groups list --json` through the CLI entry;
- the uncertain-match query alone (the queue once no group is left).
Memory: the process's peak RSS growth over the timed part.
"""

from __future__ import annotations

import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="rap-bench-review-")
for _key, _value in {"HF_HUB_OFFLINE": "1", "YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": f"{_TMP}/yolo"}.items():
    os.environ[_key] = _value
os.environ["MPLCONFIGDIR"] = f"{_TMP}/mpl"
os.environ["RAP_DESKTOP_WEIGHTS_DIR"] = f"{_TMP}/weights"

import argparse  # noqa: E402
import contextlib  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import rap_desktop.torch_compat  # noqa: E402,F401
from rap_desktop.cli import main as cli_main  # noqa: E402
from rap_desktop.core import review  # noqa: E402
from rap_desktop.core.actions import review as review_actions  # noqa: E402
from rap_desktop.core.album import rematch  # noqa: E402
from rap_desktop.core.images import load_image  # noqa: E402
from rap_desktop.core.session import Session  # noqa: E402
from rap_desktop.core.store import NewConcept, NewExemplar  # noqa: E402
from rap_desktop.core.store import review as review_table  # noqa: E402
from rap_desktop.devtools.tiny_models import write_all  # noqa: E402

HERE = Path(__file__).parent
DIM = 512
PER_PHOTO = 8
NAMED = 40
UNNAMED = 600


def _load(name: str):
    """A sibling benchmark as a module, for its helpers."""
    spec = importlib.util.spec_from_file_location(f"{name}_bench", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


album_bench, timeline_bench = _load("album"), _load("timeline")


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def _noisy(centres: np.ndarray, spread: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors around unit `centres`: a relative noise `spread` gives cos ~ 1/sqrt(1 + spread^2)."""
    noise = rng.standard_normal(centres.shape).astype(np.float32) / np.sqrt(centres.shape[1])
    return _unit(centres + spread[:, None] * noise)


def region_vectors(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(n vectors, the named people's centres): named people, unnamed look-alike sets, noise, shuffled."""
    named = _unit(rng.standard_normal((NAMED, DIM)))
    for a in range(0, 8, 2):  # look-alike siblings: two named people close to each other
        named[a + 1] = _unit(named[a] + 0.6 * _unit(rng.standard_normal(DIM)))
    unnamed = _unit(rng.standard_normal((UNNAMED, DIM)))
    near = rng.choice(UNNAMED, UNNAMED // 5, replace=False)  # near a named person: "Is this NAME?"
    unnamed[near] = _unit(named[rng.integers(0, NAMED, len(near))] + 0.9 * _unit(rng.standard_normal((len(near), DIM))))
    known = int(0.45 * n)
    sizes = rng.integers(5, 61, UNNAMED)
    sizes = np.maximum(5, (sizes * (0.25 * n / sizes.sum())).astype(int))
    grouped = int(sizes.sum())
    parts = [
        _noisy(named[rng.integers(0, NAMED, known)], rng.uniform(0.3, 0.9, known).astype(np.float32), rng),
        _noisy(np.repeat(unnamed, sizes, axis=0), np.repeat(rng.uniform(0.12, 0.3, UNNAMED), sizes), rng),
        _unit(rng.standard_normal((n - known - grouped, DIM))),
    ]
    vectors = np.concatenate(parts)[:n]
    return vectors[rng.permutation(len(vectors))], named


def build(session: Session, photos: int, rng: np.random.Generator) -> dict:
    """The store: photos, album files, regions with vectors, named concepts; then the full re-match."""
    store, model = session.store(), session.embedder.model_id
    vectors, named = region_vectors(photos * PER_PHOTO, rng)
    concepts = []
    for c in range(NAMED):
        image = album_bench._warm()
        image.putpixel((0, 0), (c, c, c))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        loaded = load_image(buffer.getvalue())
        shots = _noisy(np.stack([named[c], named[c]]), np.array([0.15, 0.15], np.float32), rng)
        exemplars = tuple(NewExemplar(loaded, vectors={model: v}) for v in shots)
        concepts.append(NewConcept(f"Person {c}", category="person", exemplars=exemplars))
    store.add_many(concepts)
    now = time.time()
    taken = timeline_bench.taken_times(photos)
    with store.transaction():
        store.conn.execute("INSERT INTO album_folders(path, added) VALUES ('/album', ?)", (now,))
        store.conn.executemany(
            "INSERT INTO photos(id, sha256, path, width, height, taken, added) VALUES (?,?,?,?,?,?,?)",
            [(i + 1, f"{i:064x}", f"/album/IMG_{i:05d}.jpg", 4000, 3000, taken[i], now) for i in range(photos)],
        )
        store.conn.executemany(
            "INSERT INTO album_files(path, photo_id, size, mtime_ns, status, error, seen) VALUES (?,?,?,?,?,?,?)",
            [(f"/album/IMG_{i:05d}.jpg", i + 1, 3_000_000, 0, "indexed", None, now) for i in range(photos)],
        )
        store.conn.executemany(
            "INSERT INTO regions(photo_id, ordinal, x1, y1, x2, y2, label, score, source, model, vector) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (i // PER_PHOTO + 1, i % PER_PHOTO + 1, 100.0 * (i % PER_PHOTO), 100.0, 100.0 * (i % PER_PHOTO) + 90,
                 220.0, "person", 0.8, "detector", model, vectors[i].tobytes())
                for i in range(len(vectors))
            ],
        )
    threshold, _ = session.retrieval_settings()
    start = time.perf_counter()
    first = rematch.rematch(store, model, threshold)
    return {"rematch_s": time.perf_counter() - start, "written": first.written, "threshold": threshold}


def counts(session: Session) -> dict:
    store = session.store()
    one = store.conn.execute
    return {
        "regions": one("SELECT COUNT(*) FROM regions").fetchone()[0],
        "matched": one("SELECT COUNT(DISTINCT region_id) FROM matches WHERE accepted = 1").fetchone()[0],
        "match_rows": one("SELECT COUNT(*) FROM matches").fetchone()[0],
    }


def timed(call) -> tuple[float, object]:
    start = time.perf_counter()
    value = call()
    return time.perf_counter() - start, value


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cli(home: Path, config: Path, *args: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli_main(["--home", str(home), "--config", str(config), *args])
    if code != 0:
        raise SystemExit(f"rap-desktop {' '.join(args)} failed with {code}")
    return json.loads(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--home", type=Path, help="keep the store here (built once, reused by the next run)")
    args = parser.parse_args(argv)
    home = args.home or Path(_TMP) / "home"
    config = write_all(home.parent / f"{home.name}-models")
    session = Session.open(home, config)
    start = time.perf_counter()
    reused = session.store().conn.execute("SELECT COUNT(*) FROM regions").fetchone()[0] > 0
    built = {"reused": True} if reused else build(session, args.photos, np.random.default_rng(0))
    print(f"built in {time.perf_counter() - start:.0f} s", built, counts(session), flush=True)
    settings = review_actions.settings(session)
    store, model = session.store(), session.embedder.model_id
    if args.profile:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        found = review.queue(store, model, settings, limit=50)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        print(len(found), [q.id for q in found[:5]])
        spent, rows = timed(lambda: review_table.uncertain_matches(store, model, settings.threshold, 0.03, 0.02, 50))
        print("uncertain", spent, len(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
