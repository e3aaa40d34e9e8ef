"""Hidden strangers in backups: the round trip (boxes, groups, looks), group numbers that never collide,
old backups without them, and a damaged hidden list refused whole."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rap_desktop.cli import main
from rap_desktop.core import health, hiding
from rap_desktop.core.backup import export_zip, import_zip
from rap_desktop.core.errors import ArchiveError
from rap_desktop.core.regions import Proposal
from rap_desktop.core.store import Store, photos
from rap_desktop.core.store import hidden as hidden_table
from rap_desktop.core.store.hidden_vectors import lookalike_mask

MODEL = "model-a"
DIM = 8


def _unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def _photo(store: Store, sha: str, seeds: list[int]) -> list[int]:
    """A photo with one region per seed (side by side), as indexing writes them; the region ids."""
    photo = photos.photo_id(store, sha * 64, f"/album/{sha}.jpg", (400, 100))
    boxes = [(100.0 * i, 0.0, 100.0 * i + 90, 90.0) for i in range(len(seeds))]
    vectors = np.stack([_unit(s) for s in seeds])
    stored = photos.replace_regions(
        store, photo, [Proposal(b, "person", 0.9, "detector") for b in boxes], vectors, MODEL, "d"
    )
    return [r.id for r in stored]


def _hide(store: Store, region_ids: list[int], group: int | None) -> None:
    with store.transaction():
        hidden_table.hide(store, region_ids, group)


def _hidden_rows(store: Store) -> list[tuple]:
    return store.conn.execute(
        "SELECT h.sha256, h.x1, h.y1, h.x2, h.y2, h.group_id, h.created, v.model, v.vector FROM hidden_regions h "
        "LEFT JOIN hidden_vectors v ON v.hidden_id = h.id ORDER BY h.sha256, h.x1"
    ).fetchall()


@pytest.fixture
def filled(store: Store, photos: dict[str, Path]) -> Store:
    """A concept, a hidden group of strangers over two photos and a single hidden region."""
    store.add_concept("Bo", photos["chelsea"], category="cat")
    a, b = _photo(store, "a", [1, 2]), _photo(store, "b", [3])
    _hide(store, [a[0], b[0]], 4)
    _hide(store, [a[1]], None)
    return store


def _edit(archive: Path, target: Path, edit) -> Path:
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "manifest.json":
                manifest = json.loads(data)
                edit(manifest)
                data = json.dumps(manifest).encode()
            dst.writestr(info.filename, data)
    return target


def test_hidden_strangers_round_trip_with_their_looks(filled: Store, tmp_path: Path) -> None:
    archive = tmp_path / "backup.zip"
    report = export_zip(filled, archive)
    assert (report.concepts, report.hidden, report.left_out) == (1, 3, [])
    before = _hidden_rows(filled)

    fresh = Store(tmp_path / "fresh", filled.embedder)
    restored = import_zip(fresh, archive)
    assert [r.concept.name for r in restored.added] == ["Bo"] and restored.hidden == 3
    assert _hidden_rows(fresh) == before  # boxes, group, when, and the looks byte for byte
    # the stranger's look-alikes are kept out in the restored store before any photo is indexed there
    assert lookalike_mask(fresh, MODEL, np.stack([_unit(1), _unit(3), _unit(99)])).tolist() == [True, True, False]
    assert hidden_table.hidden_sets(fresh) == hidden_table.hidden_sets(filled)
    assert health.check(fresh) == []
    # the group keeps its number (none was given here): `groups unhide 4` shows exactly it again
    assert hiding.unhide_group(fresh, 4).regions == 2
    # restoring again adds nothing twice
    again = import_zip(fresh, archive, skip_existing=True)
    assert again.hidden == 2 and again.skipped == ["Bo"]  # the unhidden group's two boxes, the single one was there
    assert len(_hidden_rows(fresh)) == 3
    assert import_zip(fresh, archive, skip_existing=True).hidden == 0
    fresh.close()


def test_a_restored_group_never_takes_a_number_given_here(filled: Store, tmp_path: Path) -> None:
    archive = tmp_path / "backup.zip"
    export_zip(filled, archive)
    other = Store(tmp_path / "other", filled.embedder)
    _hide(other, _photo(other, "c", [7]), 4)  # this store's own group 4, over another photo
    with other.transaction():  # and group numbers up to 9 given here already
        other.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('next_group_id', '10')")
    assert import_zip(other, archive).hidden == 3
    groups = {g for g, _, _ in hidden_table.hidden_sets(other)}
    assert groups == {None, 4, 10}
    assert hiding.unhide_group(other, 4).regions == 1  # its own group alone
    assert {r["sha256"][0] for r in hidden_table.rows_of_group(other, 10)} == {"a", "b"}
    from rap_desktop.core.store.groups import next_group_id

    assert next_group_id(other) == 11
    other.close()


def test_an_old_backup_without_hidden_strangers_imports_as_before(filled: Store, tmp_path: Path) -> None:
    good = tmp_path / "good.zip"
    export_zip(filled, good)
    old = _edit(good, tmp_path / "old.zip", lambda m: m.pop("hidden"))
    fresh = Store(tmp_path / "fresh", filled.embedder)
    report = import_zip(fresh, old)
    assert [r.concept.name for r in report.added] == ["Bo"] and report.hidden == 0
    assert _hidden_rows(fresh) == [] and report.left_out == [] and report.notes == []
    fresh.close()


def test_a_broken_look_is_dropped_and_the_box_still_hides(filled: Store, tmp_path: Path) -> None:
    good = tmp_path / "good.zip"
    export_zip(filled, good)

    def edit(manifest: dict) -> None:
        manifest["hidden"][0]["embeddings"][MODEL] = "!!"
        manifest["hidden"][1]["embeddings"][MODEL] = "AACAPwAAgD8="  # two numbers, not unit length

    fresh = Store(tmp_path / "fresh", filled.embedder)
    report = import_zip(fresh, _edit(good, tmp_path / "bad.zip", edit))
    assert report.hidden == 3 and len(report.notes) == 2
    assert "base64" in report.notes[0] and "hidden region 2" in report.notes[1]
    assert sum(1 for row in _hidden_rows(fresh) if row[-1] is None) == 2
    fresh.close()


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda m: m.update(hidden="all of them"), "hidden must be a list"),
        (lambda m: m["hidden"][0].update(sha256="../../etc"), "sha256"),
        (lambda m: m["hidden"][0].update(box=[10, 10, 5, 50]), "x2 > x1"),
        (lambda m: m["hidden"][0].update(box=None), "box"),
        (lambda m: m["hidden"][0].update(group=True), "group"),
        (lambda m: m["hidden"][0].update(group=2**70), "group"),
        (lambda m: m["hidden"][0].update(created="yesterday"), "created"),
        (lambda m: m["hidden"][0].update(embeddings=[1, 2]), "embeddings"),
        (lambda m: m["hidden"].append(7), "must be an object"),
    ],
)
def test_a_damaged_hidden_list_is_refused_whole(
    filled: Store, tmp_path: Path, tiny_config: Path, capsys, edit, reason: str
) -> None:
    good = tmp_path / "good.zip"
    export_zip(filled, good)
    bad = _edit(good, tmp_path / "bad.zip", edit)
    fresh = Store(tmp_path / "fresh", filled.embedder)
    with pytest.raises(ArchiveError, match=reason):
        import_zip(fresh, bad)
    assert fresh.list_concepts() == [] and _hidden_rows(fresh) == []
    fresh.close()
    home = tmp_path / "cli-home"
    code = main(["--home", str(home), "--config", str(tiny_config), "import", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and reason.split()[0] in err


def test_export_and_import_say_how_many_strangers(filled: Store, tmp_path: Path, tiny_config: Path, capsys) -> None:
    archive = tmp_path / "backup.zip"
    export_zip(filled, archive)
    code = main(["--home", str(tmp_path / "other"), "--config", str(tiny_config), "import", str(archive), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert doc["hidden"] == 3
    code = main(["--home", str(tmp_path / "other"), "--config", str(tiny_config), "export", str(tmp_path / "b.zip")])
    assert code == 0 and "3 hidden region(s)" in capsys.readouterr().out
