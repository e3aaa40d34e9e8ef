"""Export / import round trip through a real zip, and damaged archives refused whole."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

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
    assert restored.check() == []
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
    assert fresh.check() == []
    fresh.close()
