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
- the window's first question on a store no listing was stored for. The window's next question is
  `review.ahead` now (the listing reused, one question built, up to 50 counted), `review.queue` with 50
  questions built and the groups clustered again before;
- the next question in the window after an answer: yes / no / hide on a group (through the core action
  the window and the CLI use, re-match included, not timed), skip (a question set aside, nothing written);
- `review next --json` through the CLI entry (`rap_desktop.cli.main`, a new session each time, as a shell
  runs it) after `review answer ID hide`; before: the same with `--recluster`;
- the groups listing (find_groups + describe, as the Groups window) and `groups list --json`;
- the uncertain-match query alone (the queue once no group is left): index vs scan;
- the unmatched regions' statement alone, as it was (through the model's index, sorted) and now.
Memory: the peak of what one call allocates (tracemalloc, from one more untimed call in the first round).
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
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import rap_desktop.torch_compat  # noqa: E402,F401
from rap_desktop.cli import main as cli_main  # noqa: E402
from rap_desktop.core import group_naming, groups, review  # noqa: E402
from rap_desktop.core.actions import review as review_actions  # noqa: E402
from rap_desktop.core.album import rematch  # noqa: E402
from rap_desktop.core.images import load_image  # noqa: E402
from rap_desktop.core.session import Session  # noqa: E402
from rap_desktop.core.store import NewConcept, NewExemplar  # noqa: E402
from rap_desktop.core.store import groups as groups_table  # noqa: E402
from rap_desktop.core.store import review as review_table  # noqa: E402
from rap_desktop.core.store.hidden import IS_HIDDEN  # noqa: E402
from rap_desktop.devtools.tiny_models import write_all  # noqa: E402

HERE = Path(__file__).parent
DIM = 512
PER_PHOTO = 8
NAMED = 40
UNNAMED = 600
SIDE = (160, 120)  # px: the photo files, 8 boxes across each
QUEUE = 50  # questions the window looks at ahead (ui/album/review_ops.QUEUE)


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


def album_folder(session: Session) -> Path:
    home = Path(session.store().home)
    return home.parent / f"{home.name}-album"


def box(k: int) -> tuple[float, float, float, float]:
    return (20.0 * k, 20.0, 20.0 * k + 18, 100.0)


def photo_files(folder: Path, count: int) -> list[tuple[str, str]]:
    """(path, sha256) of `count` small real PNG photos (one flat colour each): naming a group crops its
    founder from its photo file, checked against the stored sha256."""
    from PIL import Image

    from rap_desktop.core.images import sha256_bytes

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        buffer = io.BytesIO()
        Image.new("RGB", SIDE, (i % 256, i // 256 % 256, 90)).save(buffer, "PNG")
        path = folder / f"IMG_{i:05d}.png"
        path.write_bytes(buffer.getvalue())
        out.append((str(path), sha256_bytes(buffer.getvalue())))
    return out


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
    folder = album_folder(session)
    files = photo_files(folder, photos)
    with store.transaction():
        store.conn.execute("INSERT INTO album_folders(path, added) VALUES (?, ?)", (str(folder), now))
        store.conn.executemany(
            "INSERT INTO photos(id, sha256, path, width, height, taken, added) VALUES (?,?,?,?,?,?,?)",
            [(i + 1, sha, path, SIDE[0], SIDE[1], taken[i], now) for i, (path, sha) in enumerate(files)],
        )
        store.conn.executemany(
            "INSERT INTO album_files(path, photo_id, size, mtime_ns, status, error, seen) VALUES (?,?,?,?,?,?,?)",
            [(path, i + 1, 100, 0, "indexed", None, now) for i, (path, _) in enumerate(files)],
        )
        store.conn.executemany(
            "INSERT INTO regions(photo_id, ordinal, x1, y1, x2, y2, label, score, source, model, vector) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    i // PER_PHOTO + 1,
                    i % PER_PHOTO + 1,
                    *box(i % PER_PHOTO),
                    "person",
                    0.8,
                    "detector",
                    model,
                    v.tobytes(),
                )
                for i, v in enumerate(vectors)
            ],
        )
    threshold, _ = session.retrieval_settings()
    start = time.perf_counter()
    first = rematch.rematch(store, model, threshold)
    return {"rematch_s": time.perf_counter() - start, "written": first.written, "threshold": threshold}


def counts(session: Session) -> dict:
    one = session.store().conn.execute
    return {
        "regions": one("SELECT COUNT(*) FROM regions").fetchone()[0],
        "matched": one("SELECT COUNT(DISTINCT region_id) FROM matches WHERE accepted = 1").fetchone()[0],
        "match_rows": one("SELECT COUNT(*) FROM matches").fetchone()[0],
    }


def _status(key: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return 0.0


def measured(call, memory: bool = False) -> dict:
    """Wall time of `call`; with `memory`, the peak of what it allocated (tracemalloc: Python objects and
    numpy arrays, FAISS results included; SQLite's page cache not), from a second, untimed call."""
    start = time.perf_counter()
    value = call()
    seconds = time.perf_counter() - start
    peak = None
    if memory:
        tracemalloc.start()
        call()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return {"s": seconds, "peak_mb": peak, "value": value}


def cli(home: Path, config: Path, *args: str) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli_main(["--home", str(home), "--config", str(config), *args])
    if code != 0:
        raise SystemExit(f"rap-desktop {' '.join(args)} failed with {code}")
    return json.loads(out.getvalue())


# the unmatched regions' statement before this change (through the model's index, every region tested and sorted)
OLD_UNMATCHED = (
    "SELECT r.id, r.photo_id, r.vector FROM regions r WHERE r.model = ? AND r.vector IS NOT NULL "
    "AND r.source != 'whole' AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.region_id = r.id "
    f"AND (m.accepted = 1 OR m.status = 'confirmed')) AND NOT {IS_HIDDEN} ORDER BY r.id DESC LIMIT ?"
)


class Bench:
    def __init__(self, session: Session, home: Path, config: Path, rounds: int) -> None:
        self.session, self.home, self.config, self.rounds = session, home, config, rounds
        self.store, self.model = session.store(), session.embedder.model_id
        self.settings = review_actions.settings(session)
        self.rows: list[tuple[str, list[dict], list[dict]]] = []  # (what, after runs, before runs)
        self.notes: list[str] = []

    def queue(self, reuse: bool, skipped=frozenset()) -> list[review.Question]:
        """The window's next question. Now (`reuse`): the first question built, up to QUEUE counted
        (`review.ahead`, as ui/album/review_ops.next_question runs it); before: QUEUE questions built,
        the groups clustered again."""
        if reuse:
            first, _ = review.ahead(self.store, self.model, self.settings, skipped, limit=QUEUE)
            return [first] if first else []
        return review.queue(self.store, self.model, self.settings, skipped, limit=QUEUE, reuse=False)

    def add(self, what: str, after: list[dict], before: list[dict]) -> None:
        self.rows.append((what, after, before))
        print(what, [round(r["s"], 3) for r in after], [round(r["s"], 3) for r in before], flush=True)

    def unmatched_sql(self) -> None:
        old = [measured(lambda: self.store.conn.execute(OLD_UNMATCHED, (self.model, 10_000)).fetchall(), True)]
        new = [measured(lambda: groups_table.unmatched_regions(self.store, self.model, False, 10_000), True)]
        for _ in range(self.rounds - 1):
            new.append(measured(lambda: groups_table.unmatched_regions(self.store, self.model, False, 10_000)))
            old.append(measured(lambda: self.store.conn.execute(OLD_UNMATCHED, (self.model, 10_000)).fetchall()))
        assert [r[0] for r in old[0]["value"]] == [r[0] for r in new[0]["value"]]
        self.add("the newest 10,000 unmatched regions read (SQL; part of every clustering)", new, old)

    def first(self) -> None:
        after, before = [], []
        for n in range(2):
            self.store.conn.execute("DELETE FROM album_groups_basis")  # no listing stored: cluster
            after.append(measured(lambda: self.queue(True)))
            before.append(measured(lambda: self.queue(False), n == 0))  # the same clustering as after's
        self.notes.append(f"first queue: {len(before[0]['value'])} questions, {self.groups()} groups listed")
        self.add("first question in the window (no listing stored yet: the groups clustered)", after, before)

    def groups(self) -> int:
        return self.store.conn.execute("SELECT COUNT(*) FROM album_groups WHERE id > 0").fetchone()[0]

    def _pick(self, word: str, questions: list[review.Question]) -> review.Question:
        if word in ("yes", "no"):
            suggested = [q for q in questions if q.kind == "group" and q.suggested]
            if suggested:
                return suggested[0]
            questions = review.queue(self.store, self.model, self.settings, limit=QUEUE)  # untimed: a pick
            suggested = [q for q in questions if q.kind == "group" and q.suggested]
            if suggested:
                return suggested[0]
            for group in groups.find_groups(self.store, self.model, self.settings.group_threshold, 3):
                asked = review.question(self.store, self.model, self.settings, f"g{group.id}")
                if asked.suggested:
                    return asked
            raise SystemExit("no group near a named person: the workload is wrong")
        return questions[0]

    def answers(self) -> None:
        skipped: set[str] = set()
        for word in ("yes", "no", "hide", "skip"):
            after, before, answering = [], [], []
            for n in range(self.rounds):
                asked = self._pick(word, self.queue(True, frozenset(skipped)))
                if word == "skip":
                    skipped.add(asked.id)
                else:
                    answering.append(measured(lambda a=asked, w=word: review_actions.answer(self.session, a, w))["s"])
                after.append(measured(lambda: self.queue(True, frozenset(skipped)), n == 0))
                before.append(measured(lambda: self.queue(False, frozenset(skipped)), n == 0))
                for run in (after[-1], before[-1]):  # answered: gone; said no to: asked about another name
                    again = [q for q in run["value"] if q.id == asked.id]
                    assert not again or (word == "no" and again[0].suggested != asked.suggested)
            spent = f", the answer itself (re-match included) {statistics.median(answering):.2f} s" if answering else ""
            self.notes.append(f"{word}: {self.groups()} groups listed after the rounds{spent}")
            self.add(f"next question in the window after **{word}**", after, before)

    def cli_next(self) -> None:
        after, before = [], []
        for n in range(self.rounds):
            asked = cli(self.home, self.config, "review", "next", "--json")["question"]
            cli(self.home, self.config, "review", "answer", asked["id"], "hide", "--json")
            after.append(measured(lambda: cli(self.home, self.config, "review", "next", "--json"), n == 0))
            before.append(
                measured(lambda: cli(self.home, self.config, "review", "next", "--json", "--recluster"), n == 0)
            )
            assert after[-1]["value"]["question"]["id"] != asked["id"]
        self.add(
            "`rap-desktop review next --json` after `review answer ID hide` (CLI entry, new session)", after, before
        )

    def listing(self) -> None:
        after, before, cli_after = [], [], []
        threshold = self.settings.group_threshold

        def shown(reuse: bool):
            found = groups.find_groups(self.store, self.model, threshold, 3, reuse=reuse)
            return group_naming.describe(self.store, self.model, found)

        for n in range(self.rounds):
            after.append(measured(lambda: shown(True), n == 0))
            before.append(measured(lambda: shown(False), n == 0))
            cli_after.append(measured(lambda: cli(self.home, self.config, "groups", "list", "--json"), n == 0))
        self.add("groups listing (find_groups + describe, as the Groups window)", after, before)
        self.add("`rap-desktop groups list --json` (CLI entry; before: see the row above)", cli_after, [])

    def uncertain(self) -> None:
        args = (self.store, self.model, self.settings.threshold, review.MARGIN, review.CLOSE, QUEUE)
        after, before = [], []
        for n in range(self.rounds):
            after.append(measured(lambda: review_table.uncertain_matches(*args), n == 0))
            before.append(measured(lambda: review_table.uncertain_matches(*args, scan=True), n == 0))
        assert after[0]["value"] == before[0]["value"]
        self.add("uncertain matches (the queue once no group is left)", after, before)


def _cell(runs: list[dict]) -> str:
    if not runs:
        return "-"
    seconds = [r["s"] for r in runs]
    peaks = [r["peak_mb"] for r in runs if r["peak_mb"] is not None]
    memory = f", {max(peaks):.1f} MB" if peaks else ""
    return f"{statistics.median(seconds):.3f} / {max(seconds):.3f} s{memory}"


def report(bench: Bench, built: dict, photos: int, counted: dict) -> str:
    lines = [
        f"Machine: `nproc` {os.cpu_count()}, {timeline_bench.cpu_model()}, load average {os.getloadavg()[0]:.1f} "
        f"at the end; Python {platform.python_version()}.",
        f"Store: {photos:,} photos, {counted['regions']:,} regions (512-d), {NAMED} named people, "
        f"{counted['matched']:,} regions matched, {counted['match_rows']:,} match rows; {built}.",
        "",
        "| what | after (now): p50 / max, peak allocated | before: p50 / max, peak allocated | p50 speed-up |",
        "|---|---|---|---:|",
    ]
    for what, after, before in bench.rows:
        ratio = "-"
        if after and before:
            ratio = f"{statistics.median(r['s'] for r in before) / statistics.median(r['s'] for r in after):.0f}x"
        lines.append(f"| {what} | {_cell(after)} | {_cell(before)} | {ratio} |")
    lines += ["", *[f"- {note}" for note in bench.notes]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--home", type=Path, help="keep the store here (built once, reused by the next run)")
    args = parser.parse_args(argv)
    home = args.home or Path(_TMP) / "home"
    config = write_all(home.parent / f"{home.name}-models")
    session = Session.open(home, config)
    start = time.perf_counter()
    reused = session.store().conn.execute("SELECT COUNT(*) FROM regions").fetchone()[0] > 0
    built = build(session, args.photos, np.random.default_rng(0)) if not reused else None
    about = (
        "a kept store"
        if built is None
        else (
            f"built in {time.perf_counter() - start:.0f} s, the album's first full re-match {built['rematch_s']:.0f} s "
            f"({built['written']:,} rows), acceptance threshold {built['threshold']}"
        )
    )
    counted = counts(session)
    print(about, counted, flush=True)
    bench = Bench(session, home, config, args.rounds)
    bench.unmatched_sql()
    bench.first()
    bench.answers()
    bench.cli_next()
    bench.listing()
    bench.uncertain()
    print(report(bench, about, args.photos, counted))
    session.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
