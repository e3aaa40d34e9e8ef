"""Export / import round trip through a real zip, and damaged archives refused whole."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rap_desktop.core import health
from rap_desktop.core.backup import ExportReport, export_zip, import_zip
from rap_desktop.core.errors import ArchiveError, ConflictError, RapError
from rap_desktop.core.session import Session
from rap_desktop.core.store import Store


def _fill(store: Store, photos: dict[str, Path]) -> None:
    store.add_concept("Bo", photos["chelsea"], info="<Bo> naps.", category="cat")
    store.add_exemplar("bo", photos["coffee"], box=(5, 6, 120, 130))
    store.add_concept("rocket", photos["rocket"], category="rocket")


def _snapshot(store: Store) -> tuple:
    concepts = [(c.name, c.info, c.category, c.exemplar_count, c.created) for c in store.list_concepts()]
    exemplars = sorted((e.image, e.box, e.source, e.created) for e in store.exemplars())
    vectors = sorted((model, bytes(blob)) for model, blob in store.conn.execute("SELECT model, vector FROM embeddings"))
    return concepts, exemplars, vectors


def test_round_trip_loses_nothing(store: Store, tmp_path: Path, tiny_config: Path, photos) -> None:
    _fill(store, photos)
    archive = tmp_path / "backup.zip"
    assert export_zip(store, archive) == ExportReport(2, [])
    before = _snapshot(store)

    restored_session = Session.open(tmp_path / "restored", tiny_config)
    restored = restored_session.store()
    report = import_zip(restored, archive)
    assert sorted(r.concept.name for r in report.added) == ["Bo", "rocket"]
    assert _snapshot(restored) == before
    for e in restored.exemplars():
        assert restored.image_path(e.image).read_bytes() == store.image_path(e.image).read_bytes()
    assert health.check(restored) == []
    hits = restored.search(np.frombuffer(before[2][0][1], np.float32)[None], 1)
    assert hits[0][0].similarity == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ConflictError):
        import_zip(restored, archive)
    restored_session.close()


def _rewrite(archive: Path, target: Path, change) -> None:
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info.filename))
            if data is not None:
                dst.writestr(info.filename, data)


def _edit_manifest(edit):
    def change(name: str, data: bytes):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        edit(manifest)
        return json.dumps(manifest).encode()

    return change


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda n, d: d if n == "manifest.json" else None, "missing image"),
        (lambda n, d: b"junk" if n.startswith("images/") else d, "images/"),
        (lambda n, d: d if n.startswith("images/") else None, "no manifest"),
        (lambda n, d: b"{" if n == "manifest.json" else d, "not valid JSON"),
        (_edit_manifest(lambda m: m.update(format="something-else")), "not a RAP Desktop backup"),
        (_edit_manifest(lambda m: m.update(version=99)), "newer"),
        (_edit_manifest(lambda m: m["concepts"][0].update(name="../evil")), "slash"),
    ],
)
def test_damaged_backups_are_refused_whole(store: Store, tmp_path: Path, photos, change, reason: str) -> None:
    _fill(store, photos)
    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    export_zip(store, good)
    _rewrite(good, bad, change)
    fresh = Store(tmp_path / "fresh", store.embedder)
    with pytest.raises(RapError, match=reason):
        import_zip(fresh, bad)
    assert fresh.list_concepts() == [] and not any(fresh.images_dir.rglob("*.*"))
    fresh.close()


def test_checksum_mismatch_is_reported(store: Store, tmp_path: Path, photos) -> None:
    _fill(store, photos)
    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    export_zip(store, good)
    other = photos["astronaut"].read_bytes()
    _rewrite(good, bad, lambda n, d: other if n.startswith("images/") else d)
    with pytest.raises(ArchiveError, match="checksum"):
        import_zip(Store(tmp_path / "fresh", store.embedder), bad)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_edit_manifest(lambda m: m["concepts"][0]["exemplars"][0].update(embeddings={"x": "!!"})), "base64"),
        (_edit_manifest(lambda m: m["concepts"][0]["exemplars"][0].update(image="../../x.png")), "missing image"),
    ],
)
def test_a_damaged_photo_entry_is_left_out_and_the_rest_restored(store: Store, tmp_path: Path, photos, change, reason):
    _fill(store, photos)  # Bo has two photos, rocket one
    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    export_zip(store, good)
    _rewrite(good, bad, change)
    fresh = Store(tmp_path / "fresh", store.embedder)
    report = import_zip(fresh, bad)
    assert len(report.left_out) == 1 and reason in report.left_out[0]
    assert sorted((c.name, c.exemplar_count) for c in fresh.list_concepts()) == [("Bo", 1), ("rocket", 1)]
    assert health.check(fresh) == []
    fresh.close()


# --- hostile backups (issue 13, items 3, 5 and 8) ---------------------------------------------------


def _set_vector(vector: np.ndarray):
    def edit(manifest: dict) -> None:
        embeddings = manifest["concepts"][0]["exemplars"][0]["embeddings"]
        model = next(iter(embeddings))
        embeddings[model] = base64.b64encode(np.asarray(vector, np.float32).tobytes()).decode()

    return edit


_VECTORS = "SELECT e.image, m.dim, m.vector FROM embeddings m JOIN exemplars e ON e.id = m.exemplar_id"


def test_untrustworthy_embeddings_are_computed_again(store: Store, tmp_path: Path, photos) -> None:
    # Random widths and lengths (seeded), the trusted kind among them: whatever the manifest holds,
    # the store ends with one width per model, unit vectors, and a search that works; each vector
    # that was not kept is named (concept and why) in the report.
    _fill(store, photos)
    good = tmp_path / "good.zip"
    export_zip(store, good)
    model = store.embedder.model_id
    before = {image: blob for image, _, blob in store.conn.execute(_VECTORS)}
    rng = np.random.default_rng(13)
    cases = [np.array([0.1, 0.2, 0.3]), rng.normal(size=512) * 3e8, np.zeros(512), np.full(512, np.nan)]
    cases += [rng.normal(size=int(rng.integers(1, 1024))) * 10 ** rng.uniform(-6, 12) for _ in range(4)]
    for i, vector in enumerate(cases):
        bad = tmp_path / f"bad{i}.zip"
        _rewrite(good, bad, _edit_manifest(_set_vector(vector)))
        fresh = Store(tmp_path / f"fresh{i}", store.embedder)
        report = import_zip(fresh, bad)
        assert len(report.notes) == 1 and report.notes[0].startswith("<Bo>:"), report.notes
        for image, dim, blob in fresh.conn.execute(_VECTORS).fetchall():
            stored = np.frombuffer(blob, np.float32)
            assert dim == len(stored) == 512 and abs(float(np.linalg.norm(stored)) - 1) < 1e-3
            assert np.allclose(stored, np.frombuffer(before[image], np.float32), atol=1e-5)  # the image's own
        assert health.check(fresh) == [] and fresh.search(stored[None], 1)[0][0].similarity <= 1.0001
        assert model in report.notes[0]
        fresh.close()


def _random_value(rng: random.Random, depth: int = 0):
    kind = rng.choice(["int", "float", "str", "bool", "none", "list", "dict", "big", "deep", "box"])
    if kind == "list" and depth < 3:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == "dict" and depth < 3:
        return {rng.choice(["a", "name", "image", "box", ""]): _random_value(rng, depth + 1) for _ in range(3)}
    return {
        "int": lambda: rng.choice([0, -1, 7, 2**63, -(2**70)]),
        "float": lambda: rng.choice([0.5, -1e308, 1e300, 3.0]),
        "str": lambda: rng.choice(["", "x", "1,2,3,4", "images/x.png", "\u202e\x1b[31m", "<bo>"]),
        "bool": lambda: rng.choice([True, False]),
        "big": lambda: "@@BIG@@",  # written as a 5000-digit integer
        "deep": lambda: "@@DEEP@@",  # written as 5000 nested lists
        "box": lambda: [rng.choice([0, 1.5, -3, 1e400 if rng.random() < 0.3 else 9, "a", None]) for _ in range(4)],
    }.get(kind, lambda: None)()


def _paths(node, prefix=()):
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield from _paths(child, (*prefix, key))


def mutate_json(doc, rng: random.Random) -> bytes:
    """`doc` with one random node replaced by a random JSON shape (or removed), as file bytes."""
    doc = json.loads(json.dumps(doc))
    path = rng.choice(list(_paths(doc)))
    if not path:
        doc = _random_value(rng)
    else:
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if rng.random() < 0.2 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = _random_value(rng)
    text = json.dumps(doc).replace('"@@BIG@@"', "9" * 5000).replace('"@@DEEP@@"', "[" * 5000 + "]" * 5000)
    return text.encode()


def _cli(home: Path, config: Path, capsys, *args: str) -> tuple[int, str]:
    from rap_desktop.cli import main

    code = main(["--home", str(home), "--config", str(config), *args])
    return code, capsys.readouterr().err


def test_random_manifest_shapes_exit_0_or_2(store: Store, tmp_path: Path, tiny_config: Path, photos, capsys) -> None:
    store.add_concept("Bo", photos["coffee"], category="cup", box=(5, 6, 120, 130))
    good = tmp_path / "good.zip"
    export_zip(store, good)
    with zipfile.ZipFile(good) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    rng = random.Random(13)
    codes = []
    for i in range(30):
        bad = tmp_path / f"bad{i}.zip"
        text = mutate_json(manifest, rng)
        _rewrite(good, bad, lambda name, data, text=text: text if name == "manifest.json" else data)
        code, err = _cli(tmp_path / f"h{i}", tiny_config, capsys, "import", str(bad))
        assert code in (0, 2), (text[:300], err)
        assert "internal error" not in err and "Traceback" not in err
        if code == 2:
            assert len(err.strip().splitlines()) == 1, err
        codes.append(code)
    assert 2 in codes


@pytest.mark.parametrize("what", ["images", "cache/index"])
def test_a_file_where_a_data_folder_belongs_exits_2(tmp_path: Path, tiny_config: Path, capsys, what: str) -> None:
    home = tmp_path / "home"
    (home / what).parent.mkdir(parents=True)
    (home / what).write_text("not a folder")
    code, err = _cli(home, tiny_config, capsys, "concept", "list")
    assert code == 2 and what in err and len(err.strip().splitlines()) == 1, err


def test_a_generation_that_is_not_a_number_exits_2(
    store: Store, home: Path, tiny_config: Path, capsys, photos
) -> None:
    store.add_concept("bo", photos["coffee"])
    with store._write_quiet():
        store.conn.execute("UPDATE meta SET value = 'x1' WHERE key = 'generation'")
    store.close()
    code, err = _cli(home, tiny_config, capsys, "check")
    assert code == 2 and "generation" in err, err


_PEAK_SCRIPT = """
import resource, sys
from pathlib import Path
from rap_desktop.core import backup, rap_import
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
found = backup.read_backup(Path(sys.argv[2])) if sys.argv[1] == "zip" else rap_import.read_database(Path(sys.argv[2]))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(sum(len(c.exemplars) for c in found), (after - before) // 1024)
"""


def _peak_mb(kind: str, path: Path) -> tuple[int, int]:
    """(exemplars read, growth of the peak resident memory in MB) of reading `path` in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, kind, str(path)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    count, grown = result.stdout.split()
    return int(count), int(grown)


@pytest.fixture(scope="module")
def big_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6000x4000 (72 MB decoded as RGB, ~100 KB on disk: flat colour)."""
    path = tmp_path_factory.mktemp("big") / "big.png"
    Image.new("RGB", (6000, 4000), (200, 30, 90)).save(path)
    return path


def test_one_image_named_sixteen_times_is_decoded_once(tmp_path: Path, big_png: Path) -> None:
    data = big_png.read_bytes()
    member = f"images/{hashlib.sha256(data).hexdigest()}.png"
    exemplars = [{"image": member, "box": None, "source": "registered", "embeddings": {}}] * 8
    manifest = {
        "format": "rap-desktop-backup",
        "version": 1,
        "concepts": [{"name": f"c{i}", "exemplars": exemplars} for i in range(2)],
    }
    archive = tmp_path / "sixteen.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("manifest.json", json.dumps(manifest))
        out.writestr(member, data)
    count, grown = _peak_mb("zip", archive)
    # one decode (72 MB) and its transient copy; keeping every decode was 16 x 72 MB = 1.1 GB
    assert count == 16 and grown < 5 * 72, grown


def test_forty_links_to_one_image_are_decoded_once(tmp_path: Path, big_png: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    shutil.copy(big_png, folder / "bo.png")
    for i in range(40):
        os.symlink(folder / "bo.png", folder / f"link{i}.png")
    mapping = {f"link{i}.png": f"<c{i % 4}>" for i in range(40)}
    concepts = {f"<c{i}>": {"name": f"c{i}", "image": "bo.png", "category": "cat"} for i in range(4)}
    (folder / "database.json").write_text(json.dumps({"concept_dict": concepts, "path_to_concept": mapping}))
    count, grown = _peak_mb("rap", folder)
    assert count == 4 and grown < 5 * 72, grown  # one exemplar per concept: the same photo, decoded once
