"""Import people tags at album scale: reading the tags other tools wrote (the scan) and importing chosen
names, two code versions side by side, each in a fresh process.

    .venv/bin/python benchmarks/people_import.py --base DIR [--photos 20000] [--sidecars 5000] [--rounds 2]

`--base`: a checkout of the code to compare with (e.g. `git archive main | tar -x -C /tmp/base`).
The album (made once, cached under ~/.cache/rap-desktop-bench/people-album-N): `--photos` small JPEGs, each
with its own EXIF block (date, orientation, a 12 KB maker note as phones write, so headers are as long as
a phone photo's), 2 detected regions each in the store (as indexing leaves them, tiny-model vectors);
`--sidecars` of them with an XMP sidecar naming 1-3 of 40 family members with MWG face regions (60%
digiKam style `photo.jpg.xmp` with TagsList People/…, 40% Lightroom style `photo.xmp` with
hierarchicalSubject People|…, both with dc:subject keywords), 4 in 5 boxes on a stored region, the rest
where no region is; and `--embedded` photos with the XMP inside the JPEG. Timed: the scan (what the
dialog and `album import-tags` do first), a second scan (the dialog opened again; nothing changed), and
importing the 5 most-tagged names as the window does it (`import_people_tags` reading the album again,
then the album re-matched), each on a fresh copy of the store. Memory: peak RSS (VmHWM) of the process.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from base_vs_new import Table, alternate, checkouts, cpu_model, run_child  # benchmarks/, beside this script

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rap-desktop-bench"
SIZE = (320, 240)
NAMES = (  # noqa: SIM905  (forty names: one string reads better)
    "Anna Bo Chelsea Dora Emil Frida Gus Hanna Ivo Jana Karl Lena Mats Nora Otto Pia Quinn Rosa Sven Tilda "
    "Ulla Vera Willi Xaver Yara Zeno Alma Bruno Cleo Dino Elsa Fritz Greta Hugo Ida Jonas Kira Lutz Mira Nils"
).split()
MWG = (
    'xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" '
    'xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#" xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:digiKam="http://www.digikam.org/ns/1.0/" '
    'xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
)
REGIONS = [(40.0, 30.0, 140.0, 200.0), (180.0, 40.0, 300.0, 220.0)]  # the 2 stored regions of every photo
FREE = (150.0, 200.0, 180.0, 236.0)  # where no stored region is


def _area(box, size=SIZE) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = box
    return ((x1 + x2) / 2 / size[0], (y1 + y2) / 2 / size[1], (x2 - x1) / size[0], (y2 - y1) / size[1])


def _region_li(name: str, box, lightroom: bool) -> str:
    x, y, w, h = (f"{v:.5f}" for v in _area(box))
    if lightroom:
        return (
            f'<rdf:li rdf:parseType="Resource"><mwg-rs:Name>{name}</mwg-rs:Name><mwg-rs:Type>Face</mwg-rs:Type>'
            f'<mwg-rs:Area rdf:parseType="Resource"><stArea:x>{x}</stArea:x><stArea:y>{y}</stArea:y>'
            f"<stArea:w>{w}</stArea:w><stArea:h>{h}</stArea:h><stArea:unit>normalized</stArea:unit></mwg-rs:Area>"
            "</rdf:li>"
        )
    return (
        f'<rdf:li><rdf:Description mwg-rs:Name="{name}" mwg-rs:Type="Face"><mwg-rs:Area stArea:x="{x}" '
        f'stArea:y="{y}" stArea:w="{w}" stArea:h="{h}" stArea:unit="normalized"/></rdf:Description></rdf:li>'
    )


def xmp(people: list[tuple[str, tuple]], lightroom: bool, keywords: list[str]) -> str:
    """A sidecar as digiKam or Lightroom writes it (one rdf:Description)."""
    if lightroom:
        tags = "".join(f"<rdf:li>People|{n}</rdf:li>" for n, _ in people)
        tags = f"<lr:hierarchicalSubject><rdf:Bag>{tags}</rdf:Bag></lr:hierarchicalSubject>"
        dims = (
            '<mwg-rs:AppliedToDimensions rdf:parseType="Resource"><stDim:w>320</stDim:w><stDim:h>240</stDim:h>'
            "<stDim:unit>pixel</stDim:unit></mwg-rs:AppliedToDimensions>"
        )
        regions = f'<mwg-rs:Regions rdf:parseType="Resource">{dims}'
    else:
        tags = "".join(f"<rdf:li>People/{n}</rdf:li>" for n, _ in people)
        tags = f"<digiKam:TagsList><rdf:Seq>{tags}</rdf:Seq></digiKam:TagsList>"
        dims = '<mwg-rs:AppliedToDimensions stDim:w="320" stDim:h="240" stDim:unit="pixel"/>'
        regions = f'<mwg-rs:Regions rdf:parseType="Resource">{dims}'
    items = "".join(_region_li(n, box, lightroom) for n, box in people)
    regions += f"<mwg-rs:RegionList><rdf:Bag>{items}</rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>"
    subject = "".join(f"<rdf:li>{k}</rdf:li>" for k in [*keywords, *(n for n, _ in people)])
    tool = "Lightroom Classic 13.0" if lightroom else "digiKam-8.2.0"
    return (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" {MWG} xmp:CreatorTool="{tool}">{tags}'
        f"<dc:subject><rdf:Bag>{subject}</rdf:Bag></dc:subject>{regions}</rdf:Description>"
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )


def _people(rng: random.Random) -> list[tuple[str, tuple]]:
    # a few family members in most photos (a skewed pick), their faces on the stored regions or not
    count = rng.choice((1, 1, 2, 2, 3))
    names = list(dict.fromkeys(NAMES[min(int(rng.expovariate(0.12)), len(NAMES) - 1)] for _ in range(count)))
    slots = [*REGIONS]
    rng.shuffle(slots)
    return [(n, slots.pop() if slots and rng.random() < 0.8 else FREE) for n in names]


def album(count: int, sidecars: int, embedded: int) -> Path:
    """The album folder (made once): photos, sidecars, a manifest of what each photo carries."""
    from PIL import Image

    folder = CACHE / f"people-album-{count}-{sidecars}-{embedded}"
    if (folder / "manifest.json").is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    rng = random.Random(0)
    base = Image.new("RGB", SIZE, (120, 110, 90))
    for i in range(0, SIZE[0], 16):  # something to compress
        base.paste((i % 255, 80, 200 - i % 200), (i, 0, i + 8, SIZE[1]))
    tagged = set(rng.sample(range(count), sidecars))
    inside = set(rng.sample(sorted(set(range(count)) - tagged), embedded))
    manifest = []
    for i in range(count):
        path = folder / f"{2010 + i % 12}" / f"IMG_{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        exif = Image.Exif()
        exif[0x0112] = 1
        exif[0x0132] = f"2019:06:{1 + i % 28:02d} 12:00:00"
        exif[0xA420] = f"{i:032x}"  # ImageUniqueID: every file its own hash
        exif.get_ifd(0x8769)[0x927C] = bytes(rng.getrandbits(8) for _ in range(64)) * 192  # 12 KB maker note
        extra = {}
        if i in inside:
            extra["xmp"] = xmp(_people(rng), lightroom=True, keywords=["holiday"]).encode()
        buffer = io.BytesIO()
        base.save(buffer, "JPEG", quality=80, exif=exif, **extra)
        path.write_bytes(buffer.getvalue())
        if i in tagged:
            lightroom = rng.random() < 0.4
            side = path.with_suffix(".xmp") if lightroom else Path(f"{path}.xmp")
            side.write_text(xmp(_people(rng), lightroom, ["beach", f"{2010 + i % 12}"]))
        manifest.append(str(path))
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def tiny_config() -> Path:
    config = CACHE / "models-tiny" / "config.toml"
    if not config.is_file():
        from rap_desktop.devtools.tiny_models import write_all

        config = write_all(CACHE / "models-tiny")
    return config


def build_home(folder: Path, home: Path) -> None:
    """The store of an indexed album: photo rows, album files, 2 regions per photo (tiny-model vectors)."""
    import hashlib

    import numpy as np

    from rap_desktop.core.session import Session

    session = Session.open(home, tiny_config())
    store = session.store()
    model = session.embedder.model_id
    dim = 512
    rng = np.random.default_rng(0)
    now = time.time()
    paths = json.loads((folder / "manifest.json").read_text())
    photos, files, regions = [], [], []
    for i, path in enumerate(paths, 1):
        data = Path(path).read_bytes()
        photos.append((i, hashlib.sha256(data).hexdigest(), path, SIZE[0], SIZE[1], now - i * 60, now))
        files.append((path, i, len(data), Path(path).stat().st_mtime_ns, "indexed", None, now))
        for ordinal, box in enumerate(REGIONS, 1):
            vector = rng.standard_normal(dim).astype(np.float32)
            vector /= np.linalg.norm(vector)
            regions.append((i, ordinal, *box, "person", 0.8, "detector", "tiny-yolo", model, vector.tobytes()))
    with store.transaction():
        store.conn.execute("INSERT INTO album_folders(path, added) VALUES (?, ?)", (str(folder), now))
        store.conn.executemany(
            "INSERT INTO photos(id, sha256, path, width, height, taken, added) VALUES (?,?,?,?,?,?,?)", photos
        )
        store.conn.executemany(
            "INSERT INTO album_files(path, photo_id, size, mtime_ns, status, error, seen) VALUES (?,?,?,?,?,?,?)", files
        )
        store.conn.executemany(
            "INSERT INTO regions(photo_id, ordinal, x1, y1, x2, y2, label, score, source, detector, model, vector) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            regions,
        )
    session.close()


def _kb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(template: Path) -> dict:
    """One code version (the one first on sys.path), on a fresh copy of the store."""
    import rap_desktop.torch_compat  # noqa: F401
    from rap_desktop.core.actions.people_tags import import_people_tags, people_tag_proposals
    from rap_desktop.core.session import Session

    home = Path(tempfile.mkdtemp(prefix="rap-bench-tags-")) / "home"
    shutil.copytree(template, home)
    session = Session.open(home, tiny_config())
    session.store()
    session.embedder.embed_images  # noqa: B018  (the model loads on first use below, as in the app)
    out: dict = {"rss_start_mb": _kb("VmRSS")}
    start = time.perf_counter()
    found = people_tag_proposals(session)
    out["scan_s"] = time.perf_counter() - start
    out["scan_peak_mb"] = _kb("VmHWM")
    out["names"] = len(found)
    out["tags"] = sum(len(p.tags) for p in found)
    out["usable"] = sum(len(p.usable) for p in found)
    out["digest"] = _digest(found)
    start = time.perf_counter()
    again = people_tag_proposals(session)
    out["rescan_s"] = time.perf_counter() - start
    assert _digest(again) == out["digest"]
    wanted = [p.name for p in found[:5]]
    start = time.perf_counter()
    done = import_people_tags(session, wanted)  # as the window's command does: the album read again
    out["import_s"] = time.perf_counter() - start
    imported = done.value
    out["imported"] = {"created": list(imported.created), "confirmed": imported.confirmed,
                       "regions_added": imported.regions_added, "skipped": len(imported.skipped)}  # fmt: skip
    out["matches"] = _matches(session)
    out["peak_mb"] = _kb("VmHWM")
    session.close()
    shutil.rmtree(home.parent, ignore_errors=True)
    return out


def _digest(found) -> str:
    import hashlib

    text = repr([(p.name, p.category, p.known, p.tags) for p in found])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _matches(session) -> str:
    import hashlib

    rows = (
        session.store()
        .conn.execute(
            "SELECT r.photo_id, r.x1, r.y1, r.x2, r.y2, c.name, m.status FROM matches m JOIN regions r ON r.id = "
            "m.region_id JOIN concepts c ON c.id = m.concept_id WHERE m.status != 'auto' ORDER BY 1, 2, 3, 6"
        )
        .fetchall()
    )
    return f"{len(rows)} decided, " + hashlib.sha256(repr(rows).encode()).hexdigest()[:16]


def render(args, codes: dict[str, Path], results: dict[str, list[dict]]) -> str:
    lines = [
        "# Import people tags at album scale",
        "",
        f"Machine: {platform.platform()}, `nproc` = {os.cpu_count()} ({cpu_model()}), 2 cores shared with other work "
        f"runs (contended), load average {os.getloadavg()[0]:.1f} at the end; Python {platform.python_version()}.",
        f"Script: `benchmarks/people_import.py --photos {args.photos} --sidecars {args.sidecars} --embedded "
        f"{args.embedded} --rounds {args.rounds}`; "
        + ", ".join(f"{k} = `{v}`" for k, v in codes.items())
        + "; each run a fresh process on a fresh copy of the store, base and new alternating; medians.",
        "",
    ]
    table = Table(lines, codes, results)
    row = table.row

    def med(key: str, fmt: str = "{:.1f}"):
        return lambda rs: fmt.format(statistics.median(r[key] for r in rs))

    row("scan (s)", med("scan_s"))
    row("scan again, nothing changed (s)", med("rescan_s"))
    row("import 5 names as the window does (read again, write, re-match) (s)", med("import_s"))
    row("peak memory after the scan (MB, VmHWM)", med("scan_peak_mb", "{:.0f}"))
    row("peak memory at the end (MB, VmHWM)", med("peak_mb", "{:.0f}"))
    row("names / tags / usable found", lambda rs: f"{rs[0]['names']} / {rs[0]['tags']} / {rs[0]['usable']}")
    row("proposals digest (same = same scan result)", lambda rs: rs[0]["digest"])
    row("imported: confirmed / regions added", lambda rs: f"{rs[0]['imported']['confirmed']} / "
        f"{rs[0]['imported']['regions_added']}")  # fmt: skip
    row("decided matches after the import (digest)", lambda rs: rs[0]["matches"])
    return table.text()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--photos", type=int, default=20_000)
    parser.add_argument("--sidecars", type=int, default=5_000)
    parser.add_argument("--embedded", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(measure(args.worker)), flush=True)
        return
    start = time.perf_counter()
    folder = album(args.photos, args.sidecars, args.embedded)
    template = Path(tempfile.mkdtemp(prefix="rap-bench-tags-home-")) / "home"
    build_home(folder, template)
    print(f"album and store ready in {time.perf_counter() - start:.0f}s", flush=True)
    codes = checkouts(args.base)
    results = alternate(codes, args.rounds, lambda code: run_child(__file__, code, [str(template)], 3000))
    shutil.rmtree(template.parent, ignore_errors=True)
    text = render(args, codes, results)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
