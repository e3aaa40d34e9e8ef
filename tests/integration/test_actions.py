"""Core actions: each does its change and its consequences (the album's re-match), and its record
says what changed. One test per family; each fails when the action skips the re-match."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tomli_w
from PIL import Image

from rap_desktop.core import actions, backup, groups
from rap_desktop.core.album import rematch
from rap_desktop.core.album import search as album_search
from rap_desktop.core.album.indexer import Indexer
from rap_desktop.core.changes import ANYTHING, FLAGS, LISTED, Changes
from rap_desktop.core.session import Session
from rap_desktop.core.thumbcache import for_home
from rap_desktop.devtools.synthetic_album import make_album

N = 6  # photos in the test album


@pytest.fixture(scope="module")
def strict_config(tiny_config: Path) -> Path:
    """The tiny models with a threshold only an identical crop clears (random CLIP: all crops look alike)."""
    import tomllib

    data = tomllib.loads(tiny_config.read_text())
    data["retrieval"] = {"thresholds": {"tiny-clip": 0.9999}}
    path = tiny_config.parent / "config-actions.toml"  # beside it: model paths are relative to the file
    path.write_bytes(tomli_w.dumps(data).encode())
    return path


@pytest.fixture
def indexed(home: Path, tmp_path: Path, strict_config: Path):
    """A session whose album is indexed (no concept yet), and the album's photos."""
    folder = tmp_path / "album"
    make_album(folder, N, seed=3, max_side=128)
    opened = Session.open(home, strict_config)
    Indexer(opened.retriever(), for_home(opened.home)).index([folder])
    yield opened, sorted(folder.rglob("*.jpg"))
    opened.close()


def _found(session: Session, name: str) -> list[str]:
    return [h.path for h in album_search.by_concept(session.store(), name)]


def _in_step(session: Session) -> bool:
    """The album's match rows are what a re-match would write now: the action re-matched."""
    threshold, _ = session.retrieval_settings()
    return rematch.update(session.store(), session.embedder.model_id, threshold).written == 0


def _flags(changes: Changes) -> set[str]:
    return {f for f in FLAGS if getattr(changes, f)}


def test_concept_actions_rematch_the_album_and_say_what_changed(indexed) -> None:
    session, files = indexed
    added = actions.add_concept(session, "mia", files[2], "", "cat")
    assert added.value.concept.name == "mia"
    assert {"concepts", "exemplars", "matches"} <= _flags(added.changes) and added.changes.names == ("mia",)
    assert added.changes.rematch is not None and added.changes.decisions_changed >= 1
    assert _found(session, "mia") == [str(files[2])]  # the album knows her at once

    more = actions.add_exemplar(session, "mia", files[4])
    assert {"exemplars", "matches"} <= _flags(more.changes) and "concepts" not in _flags(more.changes)
    assert sorted(_found(session, "mia")) == sorted([str(files[2]), str(files[4])])

    edited = actions.edit_concept(session, "mia", rename="mimi")
    assert edited.changes.names == ("mia", "mimi") and {"concepts", "matches"} <= _flags(edited.changes)
    assert edited.changes.rematch is not None and _in_step(session)

    removed = actions.remove_concepts(session, ["mimi"])
    assert removed.changes.names == ("mimi",) and session.store().find_concept("mimi") is None and _in_step(session)
    restored = actions.restore_concepts(session, removed.value)
    assert restored.value == ["mimi"] and restored.changes.names == ("mimi",)
    assert sorted(_found(session, "mimi")) == sorted([str(files[2]), str(files[4])]) and _in_step(session)


def test_correction_actions_and_their_undo_keep_the_album_in_step(indexed, tmp_path: Path) -> None:
    session, files = indexed
    twin = tmp_path / "album" / "twin.png"  # the same pixels in other bytes: another photo, the same vectors
    Image.open(files[2]).save(twin)
    Indexer(session.retriever(), for_home(session.home)).index([tmp_path / "album"])
    session.store().add_concept("mia", files[2], "", "cat")
    rematch.after_change(session)  # set up by hand: only the corrections below are under test
    assert sorted(_found(session, "mia")) == sorted([str(files[2]), str(twin)])
    hit = next(h for h in album_search.by_concept(session.store(), "mia") if h.path == str(files[2]))

    rejected = actions.reject(session, hit.sha256, hit.region)
    assert _flags(rejected.changes) >= {"corrections", "matches"} and not rejected.changes.concepts
    # the "no" is a negative: the look-alike region of the twin is no longer <mia> either
    assert _found(session, "mia") == []
    assert rejected.changes.rematch is not None and _in_step(session)

    undone = actions.undo_correction(session)
    assert undone.value.action == "reject" and not undone.changes.exemplars  # a reject's undo adds no photo
    assert _in_step(session) and sorted(_found(session, "mia")) == sorted([str(files[2]), str(twin)])

    confirmed = actions.confirm(session, hit.sha256, hit.region)
    assert {"corrections", "matches", "exemplars"} <= _flags(confirmed.changes) and _in_step(session)
    assert session.store().get_concept("mia").exemplar_count == 2  # the region is a photo of her now

    again = actions.undo_correction(session)
    assert again.changes.exemplars and _in_step(session)
    assert session.store().get_concept("mia").exemplar_count == 1

    made = actions.reassign(session, hit.sha256, hit.region, "bo", category="dog")
    assert made.changes.concepts and made.changes.names == ("bo",) and _in_step(session)
    assert str(files[2]) in _found(session, "bo")


def test_group_naming_and_its_undo_rematch(home: Path, tmp_path: Path, tiny_config: Path) -> None:
    folder = tmp_path / "album"
    make_album(folder, N, seed=3, max_side=128)
    session = Session.open(home, tiny_config)
    try:
        Indexer(session.retriever(), for_home(session.home)).index([folder])
        found = groups.find_groups(session.store(), session.embedder.model_id, threshold=0.5, min_size=2)
        assert found
        named = actions.name_group(session, found[0].id, "gang", category="person")
        assert named.value.concept == "gang" and named.changes.names == ("gang",)
        assert _in_step(session) and named.changes.rematch is not None
        assert {"concepts", "corrections", "matches", "groups"} <= _flags(named.changes)

        unnamed = actions.unname_group(session, "gang")
        assert unnamed.value == "gang" and _in_step(session) and unnamed.changes.rematch is not None
        assert [c.name for c in session.store().list_concepts()] == []

        again = actions.name_regions(session, session.embedder.model_id, found[0].regions, "gang", "", "person")
        assert again.value.confirmed == found[0].size and _in_step(session)
    finally:
        session.close()


def test_imports_rematch_the_album(indexed, tmp_path: Path, strict_config: Path) -> None:
    session, files = indexed
    database = tmp_path / "db"
    database.mkdir()
    shutil.copy(files[2], database / "mia.jpg")
    entry = {"name": "mia", "image": "mia.jpg", "info": "<mia> is a cat.", "category": "cat"}
    document = {"concept_dict": {"<mia>": entry}, "path_to_concept": {"mia.jpg": "<mia>"}}
    (database / "database.json").write_text(json.dumps(document))
    imported = actions.import_rap(session, database)
    assert imported.changes.names == ("mia",) and {"concepts", "exemplars"} <= _flags(imported.changes)
    assert _found(session, "mia") == [str(files[2])]

    other = Session.open(tmp_path / "other", strict_config)  # a backup made elsewhere
    try:
        other.store().add_concept("bo", files[4], "", "dog")
        backup.export_zip(other.store(), tmp_path / "b.zip")
    finally:
        other.close()
    restored = actions.import_backup(session, tmp_path / "b.zip", skip_existing=True)
    assert restored.changes.names == ("bo",) and restored.changes.rematch is not None
    assert _found(session, "bo") == [str(files[4])]


def test_changes_combine_and_the_window_records() -> None:
    both = Changes(concepts=True, names=("a",)) | Changes(matches=True, names=("b", "a"))
    assert _flags(both) == {"concepts", "matches"} and both.names == ("a", "b")
    assert _flags(LISTED) == {"concepts"} and _flags(ANYTHING) == set(FLAGS)
    assert Changes().decisions_changed == 0
