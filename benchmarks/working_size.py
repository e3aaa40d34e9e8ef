"""12-MP photos vs the same photos at 1 MP: indexing and first-token time, code versions side by side.

    .venv/bin/python benchmarks/working_size.py [--base DIR ...] [--photos 16] [--light 8] [--rounds 3]

The album: `--photos` 4000x3000 JPEGs with a phone photo's entropy (texture + noise, 3-5 MB each, from
the package photos, deterministic) and the same photos resized to 1155x866, cached under
~/.cache/rap-desktop-bench. Each measurement runs in a fresh process with one code version first on
the path (this worktree, and `--base`, e.g. a checkout of main made with `git worktree add /tmp/base
main`), alternating base/new round by round; the table gives medians. CPU, random weights in real
shapes:

- index, tiny models: steady-state s/photo (the time of every batch after the first, readers warm).
- first token, tiny models: "What is <cat> doing next to <mug>?" about a photo not seen before, the two
  concepts registered from photos of the same size, models loaded: from the file on disk to the first
  generated token (one new token: load, retrieval, the prompt's images, prefill).
- index, light models (ViT-B-32 + YOLO-World v2 s @640): 12-MP photos/s, steady state.
- `rap-desktop index` of the 12-MP album, light models, as a person runs it: the command's own photos/s
  (a fresh process; model loading included).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from base_vs_new import commit, head, run_child  # benchmarks/, beside this script

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rap-desktop-bench"
LARGE, SMALL = (4000, 3000), (1155, 866)
QUESTION = "What is <cat> doing next to <mug>?"


def album(count: int, make: bool = True) -> dict[str, list[Path]]:
    """The cached 12-MP album and its 1-MP twin (made once, by the driver: a child process may run
    code that has no album maker)."""
    from PIL import Image

    if make:
        from rap_desktop.devtools.synthetic_album import make_large_album

        large = make_large_album(CACHE / "album-12mp", count, LARGE)
    else:
        large = [CACHE / "album-12mp" / f"large_0_{LARGE[0]}x{LARGE[1]}_{i:04d}.jpg" for i in range(count)]
    small = []
    for path in large:
        target = CACHE / "album-1mp" / path.name.replace(f"{LARGE[0]}x{LARGE[1]}", f"{SMALL[0]}x{SMALL[1]}")
        if make and not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            with Image.open(path) as image:
                exif = image.getexif()
                image.convert("RGB").resize(SMALL, Image.Resampling.LANCZOS).save(target, quality=92, exif=exif)
        small.append(target)
    return {"12mp": large, "1mp": small}


def concept_photos(size: tuple[int, int], make: bool = True) -> dict[str, Path]:
    """Photos of <cat> (chelsea) and <mug> (coffee) at `size`, with the same entropy as the album."""
    from PIL import Image

    out = {}
    for name, source in (("cat", "chelsea.png"), ("mug", "coffee.png")):
        path = CACHE / f"concept-{name}-{size[0]}x{size[1]}.jpg"
        if make and not path.is_file():
            from rap_desktop.devtools.synthetic_album import large_photo, source_photos

            with Image.open(next(p for p in source_photos() if p.name == source)) as image:
                large_photo(image.convert("RGB"), size, seed=7).save(path, quality=92)
        out[name] = path
    return out


def models(profile: str) -> Path:
    """Model folders + config.toml, written once into the cache."""
    root = CACHE / f"models-{profile}"
    config = root / "config.toml"
    if not config.is_file():
        import importlib.util

        import rap_desktop.torch_compat  # noqa: F401  (before torchvision / ultralytics / open_clip)

        spec = importlib.util.spec_from_file_location("retrieval_bench", HERE / "retrieval.py")
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        module.write_profile(root, profile)
    return config


# --- the measurements (a child process, one code version on the path) ----------------------------


def _session(config: Path, concepts: dict[str, Path] | None = None):
    from rap_desktop.core.session import Session

    session = Session.open(Path(tempfile.mkdtemp(prefix="rap-ws-")) / "home", config)
    store = session.store()
    for name, path in (concepts or {}).items():
        store.add_concept(name, path, category={"cat": "cat", "mug": "cup"}[name])
    return session


def _warm_up(session) -> None:
    from PIL import Image

    retriever = session.retriever()
    retriever.detector.detect(Image.new("RGB", (320, 240), (120, 90, 60)), retriever.classes())
    session.embedder.embed_images([Image.new("RGB", (64, 64), (1, 2, 3))])


def index_steady(config: Path, photos: list[Path], batch: int = 4) -> dict:
    """Index `photos` (a folder of links to them); s/photo over the batches after the first."""
    try:
        from rap_desktop.core.album.indexer import Indexer
    except ImportError:  # code from before the core/ packages (e.g. the commit before issue 15)
        from rap_desktop.core.album import Indexer  # type: ignore[no-redef, attr-defined]
    from rap_desktop.core.thumbcache import for_home

    folder = Path(tempfile.mkdtemp(prefix="rap-ws-album-"))
    for path in photos:
        (folder / path.name).symlink_to(path)
    session = _session(config, {"cat": photos[0]})
    _warm_up(session)
    indexer = Indexer(session.retriever(), for_home(session.home), batch_size=batch)
    run = indexer.start([folder])
    marks = []
    while not run.done:
        run.step()
        marks.append((time.perf_counter(), run.finished))
    report = run.report()
    session.close()
    assert report.indexed == len(photos) and not report.failed, report
    (t0, n0), (t1, n1) = marks[0], marks[-1]
    return {"s_per_photo": (t1 - t0) / (n1 - n0), "photos": len(photos), "timings": report.timings}


def first_token(config: Path, photos: list[Path], concepts: dict[str, Path]) -> dict:
    """File on disk -> first generated token, per photo never seen before (models loaded)."""
    from rap_desktop.core import images
    from rap_desktop.core.models.generator import GenerationOptions

    load = getattr(images, "load_working", images.load_image)  # what the app decodes a question's photo with
    session = _session(config, concepts)
    assistant = session.assistant()
    one = GenerationOptions(max_new_tokens=1)
    assistant.ask(load(concepts["cat"]), QUESTION, one)  # warm-up: weights, prompt features, first calls
    times = []
    for path in photos:
        start = time.perf_counter()
        assistant.ask(load(path), QUESTION, one)
        times.append(time.perf_counter() - start)
    session.close()
    return {"ttft_s": statistics.median(times), "all": times}


def worker(args) -> None:
    import rap_desktop.torch_compat  # noqa: F401  (before torchvision / ultralytics / open_clip)

    photos = album(args.photos, make=False)
    if args.worker == "index-tiny":
        out = {size: index_steady(models("tiny"), photos[size]) for size in ("1mp", "12mp")}
    elif args.worker == "ttft-tiny":
        out = {
            size: first_token(models("tiny"), photos[size][: args.questions], concept_photos(dims, make=False))
            for size, dims in (("1mp", SMALL), ("12mp", LARGE))
        }
    elif args.worker == "index-cli":
        out = {"12mp": index_cli(models("cpu"), photos["12mp"])}
    else:  # index-light
        out = {"12mp": index_steady(models("cpu"), photos["12mp"][: args.light], batch=2)}
    print("RESULT " + json.dumps(out))


def index_cli(config: Path, photos: list[Path]) -> dict:
    """`rap-desktop index` of the photos as a person runs it (a fresh process: models loaded, then
    indexed), light models; its own photos/s, model loading included."""
    folder = Path(tempfile.mkdtemp(prefix="rap-ws-cli-"))
    for path in photos:
        (folder / path.name).symlink_to(path)
    home = Path(tempfile.mkdtemp(prefix="rap-ws-")) / "home"
    entry = "from rap_desktop.cli import main; raise SystemExit(main())"  # the rap-desktop command
    command = [sys.executable, "-c", entry, "--home", str(home), "--config", str(config), "--json"]
    done = subprocess.run([*command, "index", str(folder)], capture_output=True, text=True, check=True)
    report = json.loads(done.stdout)
    assert report["indexed"] == len(photos), report
    return {"photos_per_s": report["photos_per_s"], "seconds": report["seconds"], "photos": len(photos)}


# --- the driver ------------------------------------------------------------------------------------


def measure(code: Path, what: str, args) -> dict:
    sizes = ["--photos", str(args.photos), "--light", str(args.light), "--questions", str(args.questions)]
    return run_child(__file__, code, [what, *sizes], timeout=3600)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path, nargs="*", default=[], help="checkouts of the code to compare with")
    parser.add_argument("--photos", type=int, default=16)
    parser.add_argument("--questions", type=int, default=4, help="photos asked about, per size")
    parser.add_argument("--light", type=int, default=8, help="12-MP photos indexed with the light models")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", nargs="+", default=["index-tiny", "ttft-tiny", "index-light", "index-cli"])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    start = time.perf_counter()
    album(args.photos)
    concept_photos(SMALL), concept_photos(LARGE), models("tiny"), models("cpu")
    print(f"album and models ready in {time.perf_counter() - start:.0f}s", flush=True)
    codes = {_label(base): base.resolve() for base in args.base} | {"new": HERE.parent}
    args.load = [os.getloadavg()]
    rows: dict[tuple[str, str], list[dict]] = {}
    for round_ in range(args.rounds):
        order = list(codes) if round_ % 2 == 0 else list(codes)[::-1]  # interleaved, alternating first
        for what in args.only:
            for name in order:
                result = measure(codes[name], what, args)
                rows.setdefault((name, what), []).append(result)
                brief = {k: {kk: vv for kk, vv in v.items() if kk != "timings"} for k, v in result.items()}
                print(f"round {round_ + 1} {name} {what}: {json.dumps(brief)}", flush=True)
    args.load.append(os.getloadavg())
    text = render(args, codes, rows)
    print(text)
    if args.out:
        args.out.write_text(text)


def _label(code: Path) -> str:
    return "base " + head(code)


def _loads(values) -> str:
    return "/".join(f"{v:.1f}" for v in values)


def _med(values) -> float:
    return statistics.median(values) if values else float("nan")


def render(args, codes: dict[str, Path], rows) -> str:
    import torch

    info = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    cpu = next((x.split(":", 1)[1].strip() for x in info if x.startswith("model name")), "?")
    lines = [
        "# 12-MP photos vs 1 MP: working-resolution decode",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPU cores ({cpu}), load average (1, 5, 15 min) "
        f"{_loads(args.load[0])} before and {_loads(args.load[-1])} after; figures are medians of "
        f"{args.rounds} interleaved rounds, each in a fresh process; Python {platform.python_version()}, "
        f"torch {torch.__version__}, CPU only, random weights in real shapes.",
        f"Script: `benchmarks/working_size.py --photos {args.photos} --questions {args.questions} --light "
        f"{args.light} --rounds {args.rounds}`; code: "
        + ", ".join(f"{k} = {commit(v)}" for k, v in codes.items())
        + ".",
        f"Album: {args.photos} JPEGs of {LARGE[0]}x{LARGE[1]} (package photos with texture and noise, "
        f"3-5 MB each) and the same photos resized to {SMALL[0]}x{SMALL[1]}.",
        "",
        "| what | code | 1 MP | 12 MP | 12 MP ÷ 1 MP | goal |",
        "|---|---|---:|---:|---:|---|",
    ]
    for what, label, key, goal in (
        ("index-tiny", "index, tiny models: steady-state s/photo", "s_per_photo", "≤ 1.5"),
        ("ttft-tiny", "first token, tiny models (s)", "ttft_s", "≤ 1.5"),
    ):
        for name in codes:
            found = rows.get((name, what))
            if not found:
                continue
            small, large = _med([r["1mp"][key] for r in found]), _med([r["12mp"][key] for r in found])
            lines.append(f"| {label} | {name} | {small:.3f} | {large:.3f} | {large / small:.2f} | {goal} |")
    for name in codes:
        found = rows.get((name, "index-light"))
        if found:
            rate = 1 / _med([r["12mp"]["s_per_photo"] for r in found])
            lines.append(f"| index, light models: 12-MP photos/s | {name} | - | {rate:.2f} | - | ≥ 1.5 photos/s |")
    for name in codes:
        found = rows.get((name, "index-cli"))
        if found:
            rate = _med([r["12mp"]["photos_per_s"] for r in found])
            label = f"`rap-desktop index`, light models, {args.photos} 12-MP photos: photos/s (loading included)"
            lines.append(f"| {label} | {name} | - | {rate:.2f} | - | - |")
    lines += ["", "Per round (raw):", ""]
    for (name, what), found in rows.items():
        for r in found:
            lines.append(
                f"- {name} {what}: "
                + json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "timings"} for k, v in r.items()})
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
