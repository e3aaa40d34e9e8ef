"""Album speed: indexing photos/s (batched pipeline vs one photo at a time) on a synthetic album of
package-photo variants, with the tiny models and a mid-size shape (ViT-B-32 + YOLO-World v2 s), the
share of indexing time spent outside model calls, re-match time for 10^5 stored regions, and
search latency (by concept, by text) over 10^5 regions. CPU, random weights in real shapes.

    .venv/bin/python benchmarks/album.py [--photos 2000] [--compare 200] [--mid 60] [--regions 100000]
    .venv/bin/python benchmarks/album.py --large 100 [--device cuda] [--size 4000x3000] [--batch 8]

`--large N`: only indexing N 12-MP photos (texture + noise, 3-5 MB JPEGs, made once and cached under
~/.cache/rap-desktop-bench) with the tiny models and the device's shapes (`--device cuda`: the
reference CLIP ViT-L-14-336 + YOLO-World v2 x on the GPU).
"""

from __future__ import annotations

import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="rap-bench-album-")
for _key, _value in {"HF_HUB_OFFLINE": "1", "YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": f"{_TMP}/yolo"}.items():
    os.environ[_key] = _value
os.environ["MPLCONFIGDIR"] = f"{_TMP}/mpl"
os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count()))  # ultralytics would set 1 when unset

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from store_setup import insert_photo_regions  # noqa: E402  (benchmarks/, beside this script)

import rap_desktop.torch_compat  # noqa: E402,F401
from rap_desktop.core.album import region_vectors, rematch  # noqa: E402
from rap_desktop.core.album import search as album_search  # noqa: E402
from rap_desktop.core.album.indexer import Indexer  # noqa: E402
from rap_desktop.core.images import load_image  # noqa: E402
from rap_desktop.core.session import Session  # noqa: E402
from rap_desktop.core.store import NewConcept, NewExemplar, Store  # noqa: E402
from rap_desktop.core.thumbcache import for_home  # noqa: E402
from rap_desktop.devtools.synthetic_album import make_album, source_photos  # noqa: E402

HERE = Path(__file__).parent


def _retrieval_bench():
    """benchmarks/retrieval.py's model writers (same real shapes, same on-disk formats)."""
    spec = importlib.util.spec_from_file_location("retrieval_bench", HERE / "retrieval.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def med(values) -> float:
    return statistics.median(values) if values else float("nan")


def subset(album: Path, n: int, name: str) -> Path:
    """The first n photos of the album, copied into a folder of their own."""
    out = Path(_TMP) / name
    for path in sorted(album.rglob("*.jpg"))[:n]:
        target = out / path.relative_to(album)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return out


def open_session(config: Path, tag: str) -> Session:
    session = Session.open(Path(_TMP) / f"home-{tag}", config)
    store = session.store()
    for i, path in enumerate(source_photos()[:6]):  # a few concepts, so matching is part of indexing
        store.add_concept(f"c{i}", path, category=("person", "cat", "cup", "rocket", "motorcycle", "bus")[i])
    retriever = session.retriever()  # warm up: weights and prompt features loaded before timing
    retriever.detector.detect(_warm(), retriever.classes())
    session.embedder.embed_images([_warm()])
    return session


def _warm() -> Image.Image:
    return Image.new("RGB", (320, 240), (120, 90, 60))


class _OneByOne:
    """The detector without detect_many: the indexer then runs it once per photo (the old way)."""

    def __init__(self, detector) -> None:
        self.detector = detector
        self.model_id = detector.model_id

    def detect(self, image, classes):
        return self.detector.detect(image, classes)


def _count_calls(detector) -> list[int]:
    """Images per model call, recorded by a pass-through wrapper round the detector's predict."""
    calls: list[int] = []
    predict = detector._predict

    def counted(arrays):
        calls.append(len(arrays))
        return predict(arrays)

    detector._predict = counted
    return calls


def index_run(
    config: Path, folder: Path, tag: str, batch: int, workers: int, batch_detect: bool = True
) -> dict:
    session = open_session(config, tag)
    os.sync()  # the album was just written: its dirty pages must not land on our commits' fsyncs
    retriever = session.retriever()
    calls = _count_calls(retriever.detector)
    if not batch_detect:
        retriever.detector = _OneByOne(retriever.detector)
    indexer = Indexer(retriever, for_home(session.home), batch_size=batch, workers=workers)
    report = indexer.index([folder])
    session.close()
    assert not report.failed and report.indexed == report.files, report
    row = {
        "detector_calls": len(calls),
        "photos": report.indexed,
        "seconds": report.seconds,
        "photos_per_s": report.photos_per_s,
        "outside": report.outside_models,
        **{k: v / max(report.indexed, 1) * 1000 for k, v in report.timings.items()},
    }
    print(f"[{tag}] {row}", flush=True)
    return row


def fill_regions(store: Store, n: int, dim: int, concepts: int, rng: np.random.Generator) -> None:
    """n regions (8 per photo) around `concepts` cluster centres plus noise, concepts with 2 exemplars
    each near the centres, some negatives and user decisions: a realistic re-match workload."""
    centres = rng.standard_normal((concepts * 2, dim)).astype(np.float32)

    def around(index: np.ndarray, spread: float) -> np.ndarray:
        v = centres[index] + spread * rng.standard_normal((len(index), dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    new = []
    for c in range(concepts):
        vectors = around(np.array([c, c]), 0.3)
        image = _warm()
        buffer = io.BytesIO()
        image.putpixel((0, 0), (c, c, c))
        image.save(buffer, "PNG")
        loaded = load_image(buffer.getvalue())
        new.append(NewConcept(f"k{c}", exemplars=tuple(NewExemplar(loaded, vectors={"bench": v}) for v in vectors)))
    store.add_many(new)
    labels = rng.integers(0, concepts * 2, n)  # half the clusters are no concept: unknown people
    vectors = around(labels, 0.6)
    with store.transaction():
        insert_photo_regions(store, vectors, "person")
        ids = [r[0] for r in store.conn.execute("SELECT id FROM regions ORDER BY id LIMIT 200")]
        store.conn.executemany(
            "INSERT INTO negatives(concept_id, model, vector, region_id, created) VALUES (1, 'bench', ?, ?, 0)",
            [(vectors[i].tobytes(), ids[i]) for i in range(50)],
        )
        store.conn.executemany(
            "INSERT INTO matches(region_id, concept_id, similarity, status, accepted) "
            "VALUES (?, 2, 0.9, 'confirmed', 1)",
            [(i,) for i in ids[50:100]],
        )


class _TextOnly:
    """The text half of an embedder stand-in for latency of the search itself (query vectors random)."""

    model_id = "bench"

    def __init__(self, dim: int, rng: np.random.Generator) -> None:
        self.dim, self.rng = dim, rng

    def embed_texts(self, texts):
        v = self.rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def _cold(store: Store) -> None:
    """Forget the cached region matrix (memory and disk): the next use reads SQLite."""
    region_vectors._MEMORY.clear()
    for path in (store.home / "cache" / "album").glob("*.npz"):
        path.unlink()


def _one_more_concept(store: Store, n: int, dim: int, rng: np.random.Generator) -> None:
    vector = rng.standard_normal(dim).astype(np.float32)
    image = _warm()
    image.putpixel((1, 1), (n % 256, n // 256, 7))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    exemplar = NewExemplar(load_image(buffer.getvalue()), vectors={"bench": vector / np.linalg.norm(vector)})
    store.add_many([NewConcept(f"extra{n}", exemplars=(exemplar,))])


def at_scale(n: int, dim: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    store = Store(Path(_TMP) / f"scale-{n}")
    start = time.perf_counter()
    fill_regions(store, n, dim, 50, rng)
    filled = time.perf_counter() - start
    _cold(store)
    first = rematch.rematch(store, "bench", 0.75)  # nothing cached, every match row new
    edits = []
    for i in range(repeats):  # the usual case: one concept added, the matrix cached
        _one_more_concept(store, i, dim, rng)
        edits.append(rematch.rematch(store, "bench", 0.75))
    concept = med([_timed(lambda: album_search.by_concept(store, "k3")) for _ in range(20)])
    _cold(store)
    text = album_search.TextSearch(store, _TextOnly(dim, rng))
    cold = _timed(lambda: text.search("a dog", 20))
    region_vectors._MEMORY.clear()
    disk = _timed(lambda: album_search.TextSearch(store, _TextOnly(dim, rng)).search("a dog", 20))
    warm = med([_timed(lambda: text.search("a dog", 20)) for _ in range(20)])
    within = med([_timed(lambda: text.search("a dog", 20, concept="k3")) for _ in range(10)])
    store.close()
    typical = sorted(edits, key=lambda r: r.seconds)[len(edits) // 2]
    return {
        "regions": n,
        "fill_s": filled,
        "first": first,
        "edit": typical,
        "concept_ms": concept * 1000,
        "text_cold_ms": cold * 1000,
        "text_disk_ms": disk * 1000,
        "text_warm_ms": warm * 1000,
        "text_in_concept_ms": within * 1000,
    }


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def detect_side_by_side(config: Path, folder: Path, tag: str, batch: int = 8, rounds: int = 2) -> dict:
    """The detector alone on the album's photos in batches of `batch`: detect_many on the batch vs
    one detect per photo, interleaved batch by batch (and the order swapped each round) so that load
    from other processes hits both alike; the boxes of both ways are compared too."""
    session = open_session(config, tag)
    detector, classes = session.detector, session.retriever().classes()
    images = [load_image(path).image for path in sorted(folder.rglob("*.jpg"))]
    batches = [images[i : i + batch] for i in range(0, len(images), batch)]
    calls = _count_calls(detector)
    many = one = 0.0
    worst = 0.0
    for turn in range(rounds):
        for group in batches:
            for way in ("many", "one") if turn % 2 == 0 else ("one", "many"):
                start = time.perf_counter()
                if way == "many":
                    found = detector.detect_many(group, classes)
                    many += time.perf_counter() - start
                else:
                    single = [detector.detect(image, classes) for image in group]
                    one += time.perf_counter() - start
            for a, b in zip(found, single, strict=True):
                assert [d.label for d in a] == [d.label for d in b]
                if a:
                    worst = max(worst, float(np.abs(np.array([d.box for d in a]) - [d.box for d in b]).max()))
    session.close()
    photos = len(images) * rounds
    row = {
        "photos": len(images),
        "many_ms": many / photos * 1000,
        "one_ms": one / photos * 1000,
        "many_calls": (len(calls) - photos) / rounds,  # calls minus the single ones
        "worst_px": worst,
    }
    print(f"[{tag} detect] {row}", flush=True)
    return row


def text_embed_ms(config: Path) -> float:
    session = Session.open(Path(_TMP) / "home-text", config)
    session.embedder.embed_texts(["warm"])
    value = med([_timed(lambda: session.embedder.embed_texts(["a dog on a sofa"])) for _ in range(10)]) * 1000
    session.close()
    return value


PROFILE_FOR = {"cpu": "cpu", "cuda": "gpu"}  # --device -> models: ViT-B-32 + YOLO-World v2 s / ViT-L-14-336 + v2 x


def large_run(args) -> None:
    """Indexing 12-MP photos (texture + noise, 3-5 MB JPEGs, cached) with the tiny models and the
    device's own shapes (CPU: ViT-B-32 + YOLO-World v2 s; CUDA: the reference ViT-L-14-336 + v2 x)."""
    import tomllib

    import tomli_w
    import torch

    from rap_desktop.devtools.synthetic_album import make_large_album

    width, height = (int(v) for v in args.size.split("x"))
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rap-desktop-bench"
    start = time.perf_counter()
    folder = Path(_TMP) / "large"
    folder.mkdir()
    for path in make_large_album(cache / f"album-{width}x{height}", args.large, (width, height)):
        (folder / path.name).symlink_to(path)
    made = time.perf_counter() - start
    bench = _retrieval_bench()
    configs = {"tiny": bench.write_profile(Path(_TMP) / "models-tiny", "tiny")}
    shape = PROFILE_FOR[args.device]
    if not args.tiny_only:
        configs[shape] = bench.write_profile(Path(_TMP) / f"models-{shape}", shape)
    workers = args.workers or max(2, (os.cpu_count() or 2) // 2)
    rows = {}
    for name, config in configs.items():
        settings = tomllib.loads(config.read_text())
        settings["models"]["device"] = args.device
        config.write_bytes(tomli_w.dumps(settings).encode())
        rows[name] = index_run(config, folder, f"large-{name}", args.batch, workers)
        print(name, rows[name], flush=True)
    sizes = [p.stat().st_size for p in folder.iterdir()]
    device = torch.cuda.get_device_name(0) if args.device == "cuda" else f"CPU ({os.cpu_count()} cores)"
    lines = [
        f"# Album benchmark: {width}x{height} photos on {args.device}",
        "",
        f"Machine: {platform.platform()}, {device}, torch {torch.__version__}. Script: `benchmarks/album.py "
        f"--large {args.large} --size {args.size} --device {args.device} --batch {args.batch}`; {workers} readers.",
        f"Album: {args.large} JPEGs ({min(sizes) / 1e6:.1f}-{max(sizes) / 1e6:.1f} MB), ready in {made:.0f} s.",
        "",
        "| models | photos | photos/s | outside model calls | detect ms/photo | embed ms/photo | write ms/photo |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['photos']} | {r['photos_per_s']:.2f} | {100 * r['outside']:.1f}% | {r['detect']:.0f} "
            f"| {r['embed']:.0f} | {r['write']:.2f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    shutil.rmtree(_TMP, ignore_errors=True)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=2000, help="album size for the tiny-model run")
    parser.add_argument("--compare", type=int, default=200, help="photos for batched vs one-at-a-time (tiny)")
    parser.add_argument("--mid", type=int, default=60, help="photos for the mid-size shape (both ways)")
    parser.add_argument("--regions", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=HERE / "album.results.md")
    parser.add_argument("--large", type=int, help="only index this many 12-MP photos (tiny + the device's shapes)")
    parser.add_argument("--size", default="4000x3000", help="their size (--large)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="cuda: the reference shapes")
    parser.add_argument("--batch", type=int, default=8, help="photos per batch (--large)")
    parser.add_argument("--workers", type=int, default=0, help="readers (--large; 0: half the cores, at least 2)")
    parser.add_argument("--tiny-only", action="store_true", help="--large with the tiny models only")
    args = parser.parse_args()
    if args.large:
        if args.out == HERE / "album.results.md":
            args.out = None
        return large_run(args)

    start = time.perf_counter()
    album = Path(_TMP) / "album"
    make_album(album, args.photos, seed=0, max_side=512)
    made = time.perf_counter() - start
    print(f"album of {args.photos} in {made:.1f}s", flush=True)
    bench = _retrieval_bench()
    tiny = bench.write_profile(Path(_TMP) / "models-tiny", "tiny")
    rows = {}
    rows["tiny, full album, batched (8 photos, 2 readers)"] = index_run(tiny, album, "tiny-full", 8, 2)
    small = subset(album, args.compare, "compare")
    rows["tiny, batched (8 photos, 2 readers)"] = index_run(tiny, small, "tiny-batched", 8, 2)
    rows["tiny, batched, detector one photo per call"] = index_run(tiny, small, "tiny-detect1", 8, 2, False)
    rows["tiny, one photo at a time (no readers)"] = index_run(tiny, small, "tiny-single", 1, 0)
    mid = bench.write_profile(Path(_TMP) / "models-mid", "cpu")
    mid_album = subset(album, args.mid, "mid")
    rows["mid (ViT-B-32 + YOLO-World v2 s @640), batched"] = index_run(mid, mid_album, "mid-batched", 8, 2)
    rows["mid, batched, detector one photo per call"] = index_run(mid, mid_album, "mid-detect1", 8, 2, False)
    rows["mid (ViT-B-32 + YOLO-World v2 s @640), one at a time"] = index_run(mid, mid_album, "mid-single", 1, 0)
    detect_tiny = detect_side_by_side(tiny, small, "tiny-detect")
    detect_mid = detect_side_by_side(mid, mid_album, "mid-detect")
    scale = at_scale(args.regions, 512, 3)
    print(scale, flush=True)
    embed_tiny, embed_mid = text_embed_ms(tiny), text_embed_ms(mid)

    machine = (
        f"{platform.platform()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), CPU only, random weights in real shapes"
    )
    lines = [
        "# Album benchmark",
        "",
        f"Machine: {machine}. Script: `benchmarks/album.py --photos {args.photos} --compare {args.compare} "
        f"--mid {args.mid} --regions {args.regions}`.",
        f"Album: {args.photos} synthetic JPEGs (variants of {len(source_photos())} package photos, 256-512 px, "
        f"EXIF dates, YEAR/MONTH folders), made in {made:.0f} s. Six concepts registered before indexing.",
        "",
        "## Indexing (first run: every photo detected, embedded, matched, thumbnailed, committed per batch)",
        "",
        "| run | photos | detector calls | photos/s | outside model calls | detect ms/photo | embed ms/photo "
        "| match ms/photo | write ms/photo |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['photos']} | {r['detector_calls']} | {r['photos_per_s']:.1f} | {100 * r['outside']:.1f}% "
            f"| {r['detect']:.0f} "
            f"| {r['embed']:.0f} | {r['match']:.2f} | {r['write']:.2f} |"
        )

    def parts(report) -> str:
        return ", ".join(f"{k} {v:.2f} s" for k, v in report.timings.items()) + f"; {report.written:,} rows written"

    lines += [
        "",
        '"Outside model calls" = 1 - (time inside detector + image-encoder calls) / wall time of the run '
        "(scan, hashing, decoding, thumbnails, FAISS, SQLite, Python). Readers decode the next photos while "
        "the models run, so their time overlaps the model time instead of adding to it. Detector calls: "
        "model calls of the detector; batched detection (detect_many) puts the photos of a batch that share a "
        "letterbox frame (aspect ratio at stride 32) through the model together, one call per frame.",
        "",
        "## Detection alone: batched (detect_many, 8 photos) vs one photo per call, interleaved batch by batch",
        "",
        "| models | photos x rounds | batched ms/photo | one per call ms/photo | speed-up | model calls per "
        "8 photos | largest box difference |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {name} | {r['photos']} x 2 | {r['many_ms']:.0f} | {r['one_ms']:.0f} "
            f"| {r['one_ms'] / r['many_ms']:.2f}x "
            f"| {8 * r['many_calls'] / r['photos']:.1f} | {r['worst_px']:.3f} px |"
            for name, r in (("tiny", detect_tiny), ("mid (YOLO-World v2 s @640)", detect_mid))
        ),
        "",
        f"## Re-match and search at {scale['regions']:,} stored regions (512-d, 50 concepts x 2 exemplars, "
        "half the regions near no concept, 50 negatives, 50 confirmed matches)",
        "",
        "| what | time |",
        "|---|---:|",
        f"| re-match, first time (vectors read from SQLite, every match row new) | {scale['first'].seconds:.2f} s "
        f"({parts(scale['first'])}) |",
        f"| re-match after adding one concept (median of 3) | {scale['edit'].seconds:.2f} s ({parts(scale['edit'])}) |",
        f"| search --concept (median of 20) | {scale['concept_ms']:.1f} ms |",
        f"| search --text, first query (matrix read from SQLite, FAISS flat built, cached to disk) "
        f"| {scale['text_cold_ms']:.0f} ms |",
        f"| search --text, new process (matrix from the disk cache) | {scale['text_disk_ms']:.0f} ms |",
        f"| search --text, warm (median of 20) | {scale['text_warm_ms']:.1f} ms |",
        f"| search --text within a concept's photos (median of 10) | {scale['text_in_concept_ms']:.1f} ms |",
        f"| text embedding of the query: tiny / ViT-B-32 text tower (median of 10) "
        f"| {embed_tiny:.1f} / {embed_mid:.1f} ms |",
        "",
        f"(The search rows exclude the text embedding; {scale['edit'].accepted:,} region-concept pairs accepted.)",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    shutil.rmtree(_TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
