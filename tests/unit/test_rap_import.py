"""Importing the RAP reference format (a small copy built here, same shape as the real one)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from rap_desktop.core import health
from rap_desktop.core.errors import ConflictError, ImageError, RapError
from rap_desktop.core.rap_import import import_rap
from rap_desktop.core.store import Store


def make_reference_db(folder: Path, photos: dict[str, Path]) -> Path:
    """Like the reference repo's example_database: paths carry the repo-relative folder prefix."""
    folder.mkdir()
    entries = {"bo": ("chelsea", "cat"), "cat-cup": ("coffee", "cup"), "astro": ("astronaut", "person")}
    concept_dict, path_to_concept = {}, {}
    for name, (photo, category) in entries.items():
        shutil.copy(photos[photo], folder / f"{name}.png")
        image = f"example_database/{name}.png"
        concept_dict[f"<{name}>"] = {
            "name": name,
            "image": image,
            "info": f"<{name}> is a {category}.",
            "category": category,
        }
        path_to_concept[image] = f"<{name}>"
    shutil.copy(photos["rocket"], folder / "bo-2.png")
    path_to_concept["example_database/bo-2.png"] = "<bo>"  # a second exemplar, only listed here
    data = {"concept_dict": concept_dict, "path_to_concept": path_to_concept}
    (folder / "database.json").write_text(json.dumps(data, indent=4))
    return folder


def test_import_reference_database(store: Store, tmp_path: Path, photos: dict[str, Path]) -> None:
    folder = make_reference_db(tmp_path / "db", photos)
    report = import_rap(store, folder)
    assert sorted(r.concept.name for r in report.added) == ["astro", "bo", "cat-cup"]
    concepts = {c.name: c for c in store.list_concepts()}
    assert concepts["bo"].info == "<bo> is a cat."
    assert concepts["cat-cup"].category == "cup"
    assert concepts["bo"].exemplar_count == 2
    assert {e.source for e in store.exemplars()} == {"imported"}
    assert health.check(store) == []
    with pytest.raises(ConflictError):
        import_rap(store, folder)
    again = import_rap(store, folder, skip_existing=True)
    assert again.added == [] and sorted(again.skipped) == ["astro", "bo", "cat-cup"]


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("../outside.png", "outside"),
        ("/etc/passwd", "outside"),
        ("C:/x.png", "outside"),
        ("example_database/nothere.png", "not found"),
    ],
)
def test_hostile_or_wrong_paths_are_refused(
    store: Store, tmp_path: Path, photos: dict[str, Path], image: str, reason: str
) -> None:
    folder = make_reference_db(tmp_path / "db", photos)
    (tmp_path / "outside.png").write_bytes(photos["chelsea"].read_bytes())
    data = json.loads((folder / "database.json").read_text())
    data["concept_dict"]["<bo>"]["image"] = image
    (folder / "database.json").write_text(json.dumps(data))
    with pytest.raises(RapError, match=reason):
        import_rap(store, folder)
    assert store.list_concepts() == []  # nothing half-imported


def test_symlink_leading_outside_is_refused(store: Store, tmp_path: Path, photos: dict[str, Path]) -> None:
    folder = make_reference_db(tmp_path / "db", photos)
    (folder / "bo.png").unlink()
    (folder / "bo.png").symlink_to(photos["chelsea"])
    with pytest.raises(RapError, match="outside"):
        import_rap(store, folder)


@pytest.mark.parametrize(
    ("content", "reason"),
    [("{not json", "not valid JSON"), ("[]", "concept_dict"), ('{"concept_dict": {"<x>": 3}}', "not an object")],
)
def test_broken_database_json(store: Store, tmp_path: Path, content: str, reason: str) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "database.json").write_text(content)
    with pytest.raises(RapError, match=reason):
        import_rap(store, tmp_path / "db")


def test_broken_image_names_the_file(store: Store, tmp_path: Path, photos: dict[str, Path]) -> None:
    folder = make_reference_db(tmp_path / "db", photos)
    (folder / "cat-cup.png").write_bytes(b"not a picture")
    with pytest.raises(ImageError, match=r"cat-cup\.png"):
        import_rap(store, folder)
    assert store.list_concepts() == []


def test_not_a_database(store: Store, tmp_path: Path) -> None:
    with pytest.raises(RapError, match=r"no database\.json"):
        import_rap(store, tmp_path)


# --- hostile database.json (issue 13, items 8 and 10) -----------------------------------------------


def test_database_json_with_a_bom_is_read(store: Store, tmp_path: Path, photos: dict[str, Path]) -> None:
    folder = make_reference_db(tmp_path / "db", photos)
    path = folder / "database.json"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Windows Notepad saves it
    assert sorted(r.concept.name for r in import_rap(store, folder).added) == ["astro", "bo", "cat-cup"]


def test_random_database_shapes_exit_0_or_2(tmp_path: Path, tiny_config: Path, photos, capsys) -> None:
    from .test_backup import _cli, mutate_json

    folder = make_reference_db(tmp_path / "db", photos)
    for name in ("bo-2.png", "astro.png"):  # fewer photos: each run embeds what it imports
        (folder / name).unlink()
    data = json.loads((folder / "database.json").read_text())
    del data["concept_dict"]["<astro>"]
    data["path_to_concept"] = {"example_database/bo.png": "<bo>"}
    rng = random.Random(13)
    codes = []
    for i in range(30):
        (folder / "database.json").write_bytes(mutate_json(data, rng))
        code, err = _cli(tmp_path / f"h{i}", tiny_config, capsys, "import-rap", str(folder))
        assert code in (0, 2), ((folder / "database.json").read_text()[:300], err)
        assert "internal error" not in err and "Traceback" not in err
        if code == 2:
            assert len(err.strip().splitlines()) == 1, err
        codes.append(code)
    assert 2 in codes and 0 in codes
