"""Retrieval latency per photo split into detect / embed / search, batched vs one-by-one crop
embedding, and store search latency at 10^2..10^6 vectors. CPU, random weights in the real shapes
and on-disk formats, loaded through the project's own Session (settings TOML -> store, models).

    .venv/bin/python benchmarks/retrieval.py [--profiles tiny cpu [gpu]] [--out benchmarks/results/retrieval.md]
"""

from __future__ import annotations

import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="rap-bench-")
for _key, _value in {"HF_HUB_OFFLINE": "1", "YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": f"{_TMP}/yolo"}.items():
    os.environ[_key] = _value
os.environ["MPLCONFIGDIR"] = f"{_TMP}/mpl"
# importing ultralytics sets OMP_NUM_THREADS=1 when unset; torch imported after it would use 1 thread
os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count()))

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import skimage  # noqa: E402
import tomli_w  # noqa: E402
from PIL import Image  # noqa: E402

import rap_desktop.torch_compat  # noqa: E402,F401  (before torchvision / ultralytics / open_clip)
from rap_desktop.core.images import crop_box, load_image  # noqa: E402
from rap_desktop.core.models.detector import import_ultralytics  # noqa: E402
from rap_desktop.core.session import Session  # noqa: E402
from rap_desktop.core.store import Store  # noqa: E402
from rap_desktop.devtools import tiny_models  # noqa: E402

DATA = Path(skimage.__file__).parent / "data"
ASSETS = Path(import_ultralytics().__file__).parent / "assets"
CONCEPTS = {  # name: (photo, category)
    "astro": (DATA / "astronaut.png", "person"),
    "chelsea": (DATA / "chelsea.png", "cat"),
    "mug": (DATA / "coffee.png", "cup"),
    "saturn-v": (DATA / "rocket.jpg", "rocket"),
    "bike": (DATA / "motorcycle_left.png", "motorcycle"),
    "deep-field": (DATA / "hubble_deep_field.jpg", "galaxy"),
    "eye": (DATA / "retina.jpg", "eye"),
    "bus-42": (ASSETS / "bus.jpg", "bus"),
    "zizou": (ASSETS / "zidane.jpg", "person"),
    "horse": (DATA / "horse.png", "horse"),
}
PHOTOS = [DATA / "astronaut.png", DATA / "chelsea.png", DATA / "coffee.png", DATA / "rocket.jpg"]
PHOTOS += [ASSETS / "bus.jpg", ASSETS / "zidane.jpg"]
OPENAI = {"mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711]}
# name: (open_clip architecture of the embedder, YOLO-World v2 yaml, detector image size)
PROFILES = {"cpu": ("ViT-B-32", "yolov8s-worldv2.yaml", 640), "gpu": ("ViT-L-14-336", "yolov8x-worldv2.yaml", 640)}


def write_clip(folder: Path, arch: str) -> int:
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = open_clip.create_model(arch)  # no `pretrained`: random weights, real shapes
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    config = {"model_cfg": open_clip.get_model_config(arch), "preprocess_cfg": {**OPENAI, "interpolation": "bicubic"}}
    (folder / "open_clip_config.json").write_text(json.dumps(config, indent=2))
    return int(config["model_cfg"]["embed_dim"])


def write_profile(root: Path, name: str) -> Path:
    """Models + config.toml in the same [models.custom.NAME] scheme as devtools/tiny_models."""
    if name == "tiny":
        return tiny_models.write_all(root)
    import torch

    arch, yaml, size = PROFILES[name]
    custom = {}
    for clip in dict.fromkeys((arch, "ViT-B-32")):  # YOLO-World v2 prompts are 512-d ViT-B-32 text features
        dim = write_clip(root / clip, clip)
        files = ["open_clip_config.json", "open_clip_model.safetensors"]
        custom[clip] = {
            "kind": "embedder",
            "backend": "open_clip",
            "path": clip,
            "files": files,
            "options": {"dim": dim},
        }
    torch.manual_seed(0)
    world = import_ultralytics().YOLOWorld(yaml, verbose=False)
    tiny_models._calibrate(world.model, [ASSETS / "bus.jpg", ASSETS / "zidane.jpg"], size)  # BN stats + score bias
    world.save(str(root / f"{Path(yaml).stem}.pt"))
    options = {"text_encoder": "ViT-B-32", "confidence": 0.1, "image_size": size, "max_detections": 10}
    custom["world"] = {"kind": "detector", "backend": "ultralytics-world", "path": f"{Path(yaml).stem}.pt"}
    custom["world"]["options"] = options
    config = {"schema": 1, "models": {"embedder": arch, "detector": "world", "device": "cpu", "custom": custom}}
    (root / "config.toml").write_bytes(tomli_w.dumps(config).encode())
    return root / "config.toml"


def med(values) -> float:
    return statistics.median(values) if values else float("nan")


def run_profile(name: str, photos: list[Path]) -> tuple[dict, dict]:
    root = Path(tempfile.mkdtemp(dir=_TMP))
    start = time.perf_counter()
    session = Session.open(root / "data", write_profile(root / "models", name))
    store = session.store()
    for concept, (path, category) in CONCEPTS.items():
        store.add_concept(concept, path, category=category)
    retriever = session.retriever()
    print(f"[{name}] models written + {len(CONCEPTS)} concepts in {time.perf_counter() - start:.1f}s", flush=True)
    buffer = io.BytesIO()  # one warm-up on a small photo: weights, prompt features, first-call allocations
    Image.open(DATA / "motorcycle_left.png").convert("RGB").resize((240, 180)).save(buffer, "PNG")
    retriever.retrieve(load_image(buffer.getvalue()), refresh=True)
    rows, crops = [], []
    for path in photos:
        loaded = load_image(path)
        start = time.perf_counter()
        result = retriever.retrieve(loaded, refresh=True)
        rows.append({**result.timings, "total": time.perf_counter() - start, "regions": len(result.regions)})
        crops.append([crop_box(loaded.image, r.box) for r in result.regions])
        print(f"[{name}] {path.name}: {rows[-1]}", flush=True)
    split = {k: med([r[k] for r in rows]) for k in ("detect", "embed", "search", "total", "regions")}
    split["photos"], split["regions_range"] = (
        len(rows),
        (min(r["regions"] for r in rows), max(r["regions"] for r in rows)),
    )
    embedder, batched, single = session.embedder, 0.0, 0.0
    for group in crops:  # the same crops both ways, alternating per photo
        start = time.perf_counter()
        embedder.embed_images(group)
        batched += time.perf_counter() - start
        start = time.perf_counter()
        for crop in group:
            embedder.embed_images([crop])
        single += time.perf_counter() - start
    count = sum(len(g) for g in crops)
    compare = {"crops": count, "batched_ms": 1000 * batched / count, "single_ms": 1000 * single / count}
    compare["batch_size"] = embedder.batch_size
    session.close()
    shutil.rmtree(root, ignore_errors=True)
    return split, compare


def fill(store: Store, n: int, dim: int, rng: np.random.Generator, chunk: int = 100_000) -> None:
    """n clustered unit vectors (like index_kind.clustered), bulk-inserted in one transaction."""
    centres = rng.normal(size=(max(n // 50, 1), dim)).astype(np.float32)
    now = time.time()
    with store.transaction():
        store.conn.executemany(
            "INSERT INTO concepts(id, name, name_key, created, updated) VALUES (?, ?, ?, ?, ?)",
            [(c + 1, f"c{c}", f"c{c}", now, now) for c in range(max(n // 100, 1))],
        )
        store.conn.executemany(
            "INSERT INTO exemplars(id, concept_id, image, width, height, source, created) "
            "VALUES (?, ?, 'x.png', 1, 1, 'registered', ?)",
            ((i + 1, i // 100 + 1, now) for i in range(n)),
        )
        for lo in range(0, n, chunk):
            m = min(chunk, n - lo)
            vectors = centres[rng.integers(0, len(centres), m)] + 0.3 * rng.standard_normal((m, dim), np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            store.conn.executemany(
                "INSERT INTO embeddings(exemplar_id, model, dim, vector) VALUES (?, 'bench', ?, ?)",
                ((lo + i + 1, dim, vectors[i].tobytes()) for i in range(m)),
            )
    return centres


def search_row(n: int, dim: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    home = Path(tempfile.mkdtemp(dir=_TMP))
    store = Store(home)
    start = time.perf_counter()
    centres = fill(store, n, dim, rng)
    filled = time.perf_counter() - start
    start = time.perf_counter()
    index = store.index("bench")
    build = time.perf_counter() - start
    kind = "flat" if "IDMap" in type(index.index).__name__ else f"ivf (nlist {index.index.nlist})"
    queries = centres[rng.integers(0, len(centres), 8)] + 0.3 * rng.standard_normal((8, dim), np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    out = {"kind": kind, "fill_s": filled, "build_s": build}
    for q in (1, 8):  # one region; a photo's worth of regions (what Retriever._rank sends)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            store.search(queries[:q], k=20, model="bench")
            times.append(time.perf_counter() - start)
        out[f"q{q}_ms"] = 1000 * med(times)
    store.conn.close()
    del store, index
    shutil.rmtree(home, ignore_errors=True)
    return out


def render(args, splits: dict, compares: dict, searches: dict) -> str:
    import torch

    names = {"tiny": "tiny (tiny_models.write_all)", "cpu": "cpu: ViT-B-32 + YOLO-World v2 s @640"}
    names["gpu"] = "gpu: ViT-L-14-336 + YOLO-World v2 x @640"
    lines = [
        "# Retrieval latency: detect / embed / search, batched crops, search vs store size",
        "",
        f"Machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, torch {torch.__version__} ({torch.get_num_threads()} threads); "
        "CPU only, random weights in real shapes.",
        "",
        f"## Per photo (median over photos, `retrieve(refresh=True)` after one warm-up; {len(CONCEPTS)} concepts)",
        "",
        "| profile | photos | detect (ms) | embed (ms) | search (ms) | total (ms) | regions (median, range) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in splits.items():
        ms = " | ".join(f"{1000 * s[k]:.{1 if k == 'search' else 0}f}" for k in ("detect", "embed", "search", "total"))
        lo, hi = s["regions_range"]
        lines.append(f"| {names[name]} | {s['photos']} | {ms} | {s['regions']:g} ({lo}-{hi}) |")
    lines += ["", "## Crop embedding: one batched call vs one call per crop (same crops, same run)", ""]
    lines += ["| profile | crops | batch size | batched (ms/crop) | one-by-one (ms/crop) | one-by-one / batched |"]
    lines += ["|---|---:|---:|---:|---:|---:|"]
    for name, c in compares.items():
        cells = f"{c['crops']} | {c['batch_size']} | {c['batched_ms']:.1f} | {c['single_ms']:.1f}"
        lines.append(f"| {names[name]} | {cells} | {c['single_ms'] / c['batched_ms']:.2f}x |")
    lines += ["", f"## `Store.search` vs stored vectors ({args.dim}-d clustered, k=20, median of {args.repeats})", ""]
    lines += ["| vectors | index | bulk insert (s) | index build (s) | 1 query (ms) | 8 queries (ms) |"]
    lines += ["|---:|---|---:|---:|---:|---:|"]
    for n, r in searches.items():
        cells = f"{r['fill_s']:.1f} | {r['build_s']:.1f} | {r['q1_ms']:.2f} | {r['q8_ms']:.2f}"
        lines.append(f"| {n:,} | {r['kind']} | {cells} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", nargs="+", default=["tiny", "cpu"], choices=["tiny", "cpu", "gpu"])
    parser.add_argument("--gpu-photos", type=int, default=2, help="photos for the (slow on CPU) gpu profile")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**2, 10**3, 10**4, 10**5, 10**6])
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    splits, compares, searches = {}, {}, {}

    def save() -> None:  # after every step: a run cut short still leaves what it measured
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(render(args, splits, compares, searches))

    for name in [p for p in args.profiles if p != "gpu"]:
        splits[name], compares[name] = run_profile(name, PHOTOS)
        save()
    for n in args.sizes:
        searches[n] = search_row(n, args.dim, args.repeats)
        print(f"[search] {n:,}: {searches[n]}", flush=True)
        save()
    if "gpu" in args.profiles:  # last: the slowest on a CPU
        splits["gpu"], compares["gpu"] = run_profile("gpu", PHOTOS[: args.gpu_photos])
        save()
    print(render(args, splits, compares, searches))
    shutil.rmtree(_TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
