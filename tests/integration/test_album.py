"""Album indexing, re-matching and search on a generated album of package photos, tiny real-format models."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from rap_desktop.core import corrections
from rap_desktop.core.album import rematch
from rap_desktop.core.album import search as album_search
from rap_desktop.core.album.indexer import Indexer, Progress
from rap_desktop.core.errors import NotFoundError
from rap_desktop.core.images import sha256_bytes
from rap_desktop.core.session import Session
from rap_desktop.core.store import Store, schema
from rap_desktop.core.thumbcache import for_home
from rap_desktop.devtools.synthetic_album import add_bad_files, make_album


@pytest.fixture(scope="module")
def strict_config(tiny_config: Path) -> Path:
    """The tiny models with a threshold only an identical crop clears (random CLIP: all crops look alike)."""
    import tomllib

    data = tomllib.loads(tiny_config.read_text())
    data["retrieval"] = {"thresholds": {"tiny-clip": 0.9999}}
    path = tiny_config.parent / "config-strict.toml"  # beside it: model paths are relative to the file
    path.write_bytes(tomli_w.dumps(data).encode())
    return path


N = 12  # photos in the test album


@pytest.fixture
def album(tmp_path: Path) -> Path:
    folder = tmp_path / "album"
    make_album(folder, N, seed=1, max_side=160)
    return folder


@pytest.fixture
def strict(home: Path, strict_config: Path):
    opened = Session.open(home, strict_config)
    yield opened
    opened.close()


def _indexer(session: Session, **kwargs) -> Indexer:
    return Indexer(session.retriever(), for_home(session.home), **kwargs)


def _count(session: Session, sql: str, *args) -> int:
    return session.store().conn.execute(sql, args).fetchone()[0]


def test_index_then_reindex_touches_only_changed_files(session: Session, album: Path, photos) -> None:
    seen: list[Progress] = []
    first = _indexer(session, batch_size=4).index([album], seen.append)
    assert (first.files, first.indexed, first.recorded, first.unchanged, first.failed) == (N, N, 0, 0, ())
    assert seen[0].done == 0 and seen[-1].done == seen[-1].total == N and seen[-1].photos_per_s > 0
    assert _count(session, "SELECT COUNT(*) FROM photos") == N
    assert _count(session, "SELECT COUNT(*) FROM photos WHERE taken IS NOT NULL") == N  # EXIF dates kept
    regions_before = {r[0] for r in session.store().conn.execute("SELECT id FROM regions")}
    assert all(for_home(session.home).has(sha) for (sha,) in session.store().conn.execute("SELECT sha256 FROM photos"))

    changed = sorted(album.rglob("*.jpg"))[3]
    shutil.copyfile(photos["coffee"], changed)  # same name, new content
    shutil.copyfile(photos["chelsea"], album / "new.png")
    second = _indexer(session).index([album])
    assert (second.indexed, second.recorded, second.unchanged, second.removed) == (2, 0, N - 1, 0)
    # the unchanged photos kept their regions (no model run for them): only new region ids appeared
    regions_after = {r[0] for r in session.store().conn.execute("SELECT id FROM regions")}
    assert regions_before <= regions_after
    assert _count(session, "SELECT COUNT(*) FROM photos") == N + 2  # the old content of `changed` stays known
    path_photo = _count(session, "SELECT photo_id FROM album_files WHERE path = ?", str(changed))
    assert session.store().conn.execute("SELECT sha256 FROM photos WHERE id = ?", (path_photo,)).fetchone()[0] == (
        sha256_bytes(changed.read_bytes())
    )
    third = _indexer(session).index([album])
    assert (third.indexed, third.recorded, third.unchanged) == (0, 0, N + 1)


def test_moves_renames_and_duplicates_cost_no_model_run(strict: Session, album: Path) -> None:
    _indexer(strict).index([album])
    files = sorted(album.rglob("*.jpg"))
    store = strict.store()
    store.add_concept("bo", files[0], "a test concept", "person")
    rematch.after_change(strict)
    hits = album_search.by_concept(store, "bo")
    assert hits and hits[0].path == str(files[0]) and hits[0].score > 0.9999
    corrections.confirm(store, hits[0].sha256, hits[0].region)
    matches_before = store.conn.execute("SELECT region_id, concept_id, status FROM matches ORDER BY 1, 2").fetchall()

    moved = album / "elsewhere" / "renamed.jpg"
    moved.parent.mkdir()
    files[0].rename(moved)
    shutil.copyfile(files[1], album / "copy-of-1.jpg")
    report = _indexer(strict).index([album])
    assert (report.indexed, report.recorded, report.removed) == (0, 2, 1)
    assert _count(strict, "SELECT COUNT(*) FROM photos") == N
    assert store.conn.execute("SELECT region_id, concept_id, status FROM matches ORDER BY 1, 2").fetchall() == (
        matches_before
    )
    hit = album_search.by_concept(store, "bo")[0]
    assert hit.path == str(moved) and hit.confirmed


def test_bad_files_are_listed_and_the_run_completes(session: Session, album: Path) -> None:
    bad = add_bad_files(album / "bad", next(album.rglob("*.jpg")))
    report = _indexer(session).index([album])
    assert report.indexed == N and not report.cancelled
    reasons = dict(report.failed)
    assert set(reasons) == {str(p) for p in bad.values()}
    assert "empty" in reasons[str(bad["empty"])]
    assert "text file" in reasons[str(bad["text"])]
    assert "too many pixels" in reasons[str(bad["huge"])]
    assert "truncated" in reasons[str(bad["truncated"])]
    again = _indexer(session).index([album])  # unchanged bad files are not read again, still listed
    assert again.unchanged == N + 4 and len(again.failed) == 4


def test_cancel_stops_between_batches_and_a_rerun_finishes(session: Session, album: Path) -> None:
    from rap_desktop.core.album.indexer import CancelToken

    token = CancelToken()

    def progress(p: Progress) -> None:
        if p.done >= 4:
            token.cancel()

    first = _indexer(session, batch_size=4).index([album], progress, token)
    assert first.cancelled and first.indexed == 4
    assert _count(session, "SELECT COUNT(*) FROM album_files") == 4
    second = _indexer(session, batch_size=4).index([album])
    assert (second.indexed, second.unchanged) == (N - 4, 4)
    assert _count(session, "SELECT COUNT(*) FROM photos") == N


def test_the_data_folder_inside_an_album_is_not_indexed(tmp_path: Path, tiny_config: Path) -> None:
    album = tmp_path / "pictures"
    make_album(album, 3, seed=5, max_side=128)
    opened = Session.open(album / "rap-data", tiny_config)  # the data folder lives inside the album
    try:
        opened.store().add_concept("bo", next(album.rglob("*.jpg")))
        first = _indexer(opened).index([album])
        assert first.files == 3 and first.indexed == 3  # not its thumbnails or concept images
        assert _indexer(opened).index([album]).files == 3
    finally:
        opened.close()


def test_missing_folder_is_a_clear_error(session: Session, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such folder"):
        _indexer(session).index([tmp_path / "nope"])


def test_concept_changes_and_corrections_rematch_without_models(strict: Session, album: Path) -> None:
    _indexer(strict).index([album])
    store = strict.store()
    files = sorted(album.rglob("*.jpg"))
    store.add_concept("mia", files[2], "", "cat")  # its whole-photo region embeds exactly alike
    # from here on neither model may run: every region is re-matched from its stored vector
    strict.embedder.embed_images = None  # type: ignore[method-assign]  # any call would fail loudly
    strict.detector.detect = None  # type: ignore[method-assign]
    report = rematch.after_change(strict)
    assert report is not None and report.regions == _count(strict, "SELECT COUNT(*) FROM regions")
    assert [h.path for h in album_search.by_concept(store, "mia")] == [str(files[2])]

    hit = album_search.by_concept(store, "mia")[0]
    corrections.reject(store, hit.sha256, hit.region)
    rematch.after_change(strict)
    assert album_search.by_concept(store, "mia") == []  # the user's "no" survives re-matching
    status = store.conn.execute("SELECT status FROM matches WHERE status != 'auto'").fetchall()
    assert status == [("rejected",)]
    corrections.undo(store)
    rematch.after_change(strict)
    assert [h.path for h in album_search.by_concept(store, "mia")] == [str(files[2])]

    store.edit_concept("mia", rename="mimi")
    rematch.after_change(strict)
    assert [h.path for h in album_search.by_concept(store, "mimi")] == [str(files[2])]
    store.remove_concept("mimi")
    rematch.after_change(strict)
    assert _count(strict, "SELECT COUNT(*) FROM matches") == 0
    with pytest.raises(NotFoundError):
        album_search.by_concept(store, "mimi")


def test_text_search_ranks_photos_by_their_best_region(session: Session, album: Path) -> None:
    _indexer(session).index([album])
    store = session.store()
    search = album_search.TextSearch(store, session.embedder)
    ranking = search.rank("a cat on a sofa")
    hits = search.hits(ranking, 0, 5)
    assert len(hits) == 5 and [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # the same ranking computed directly from the stored vectors
    query = session.embedder.embed_texts(["a cat on a sofa"])[0]
    best: dict[int, float] = {}
    for photo_id, blob in store.conn.execute("SELECT photo_id, vector FROM regions"):
        score = float(np.frombuffer(blob, np.float32) @ query)
        best[photo_id] = max(best.get(photo_id, -1.0), score)
    expected = sorted(best, key=lambda p: -best[p])[:5]
    assert [h.photo_id for h in hits] == expected
    assert hits[0].score == pytest.approx(best[expected[0]], abs=1e-5)
    # a second search reuses the cached matrix (and the one on disk survives a new object)
    again = album_search.TextSearch(store, session.embedder)
    assert again.hits(again.rank("a cat on a sofa"), 0, 5) == hits
    assert list((store.home / "cache" / "album").glob("regions-*.npz"))


def test_a_version_1_store_gains_the_album_tables_in_place(home: Path, photos) -> None:
    with Store(home) as store:
        store.add_concept("bo", photos["chelsea"], "a cat", "cat")
        for table in ("album_files", "album_folders", "album_captions", "album_groups"):
            store.conn.execute(f"DROP TABLE {table}")
        store.conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn = sqlite3.connect(home / "store.sqlite3")
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("1",)
    conn.close()
    with Store(home) as store:
        version = store.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        assert int(version) == schema.SCHEMA_VERSION == 2
        assert [c.name for c in store.list_concepts()] == ["bo"]
        assert store.conn.execute("SELECT COUNT(*) FROM album_files").fetchone() == (0,)


def test_groups_are_deterministic_and_naming_one_confirms_it_in_one_step(session: Session, album: Path, photos) -> None:
    from rap_desktop.core import groups

    _indexer(session).index([album])
    store, model = session.store(), session.embedder.model_id
    first = groups.find_groups(store, model, threshold=0.5, min_size=2)
    assert first and groups.find_groups(store, model, threshold=0.5, min_size=2) == first
    members = [r for g in first for r in g.regions]
    assert len(members) == len(set(members))  # no region in two groups
    vectors = {
        rid: np.frombuffer(blob, np.float32) for rid, blob in store.conn.execute("SELECT id, vector FROM regions")
    }
    for group in first:
        assert group.size >= 2 and all(vectors[r] @ vectors[group.regions[0]] >= 0.5 - 1e-5 for r in group.regions)
    whole = {r for (r,) in store.conn.execute("SELECT id FROM regions WHERE source = 'whole'")}
    assert not whole & set(members)

    named = groups.name_group(store, first[0].id, "gang", category="person")
    assert named.created and named.confirmed == first[0].size
    concept = store.get_concept("gang")
    assert concept.exemplar_count == 1 and store.exemplars("gang")[0].source == "confirmed"
    confirmed = {
        r
        for (r,) in store.conn.execute(
            "SELECT region_id FROM matches WHERE concept_id = ? AND status = 'confirmed' AND accepted = 1",
            (concept.id,),
        )
    }
    assert confirmed == set(first[0].regions)
    with pytest.raises(NotFoundError):  # the listing went stale with the change
        groups.name_group(store, first[0].id, "again")
    later = groups.find_groups(store, model, threshold=0.5, min_size=2)
    assert not set(first[0].regions) & {r for g in later for r in g.regions}

    # one correction: `match undo` takes the whole naming back, and the group is offered again
    assert corrections.undo(store).action == "name_group"
    assert store.find_concept("gang") is None
    assert _count(session, "SELECT COUNT(*) FROM matches WHERE status = 'confirmed'") == 0
    again = groups.find_groups(store, model, threshold=0.5, min_size=2)
    assert [g.regions for g in again] == [g.regions for g in first]

    # named as an existing concept: the undo puts back each member's earlier match with it exactly
    store.add_concept("bo", photos["chelsea"], "", "cat")
    rematch.after_change(session)
    bo = store.get_concept("bo").id
    group = groups.find_groups(store, model, threshold=0.5, min_size=2)[0]
    marks = ",".join("?" * len(group.regions))
    rows = f"SELECT * FROM matches WHERE concept_id = {bo} AND region_id IN ({marks}) ORDER BY region_id"
    before = store.conn.execute(rows, group.regions).fetchall()
    assert before  # the members were candidates of <bo> already (below its threshold)
    assert not groups.name_group(store, group.id, "bo").created
    assert store.get_concept("bo").exemplar_count == 2
    assert store.conn.execute(rows, group.regions).fetchall() != before
    corrections.undo(store)
    assert store.get_concept("bo").exemplar_count == 1
    assert store.conn.execute(rows, group.regions).fetchall() == before


@pytest.mark.slow
def test_incremental_rematch_equals_the_full_pass_with_the_real_models(session: Session, album: Path) -> None:
    """Concept changes, corrections, undo and an undone removal through the real tiny models: after
    each, `after_change` (only what the change can affect) leaves the rows a full pass writes."""
    from rap_desktop.core import removal
    from tests.unit.test_rematch_incremental import differences, full_on_copy, matches

    _indexer(session).index([album])
    store, model = session.store(), session.embedder.model_id
    threshold, _ = session.retrieval_settings()
    files = sorted(album.rglob("*.jpg"))
    store.add_concept("bo", files[2], "", "cat")
    assert rematch.after_change(session).full  # nothing recorded yet
    sha = sha256_bytes(files[2].read_bytes())
    steps = [
        lambda: store.add_concept("mia", files[5], "", "dog"),
        lambda: store.add_exemplar("bo", files[7]),
        lambda: corrections.confirm(store, sha, "r2", "mia"),
        lambda: corrections.reject(store, sha, "r1", "bo"),
        lambda: corrections.reassign(store, sha256_bytes(files[5].read_bytes()), "r1", "zed"),
        lambda: corrections.undo(store),
        lambda: store.edit_concept("mia", rename="mimi", info="a dog"),
        lambda: saved.append(removal.remove(store, ["bo"])),
        lambda: removal.restore(store, saved.pop()),
        lambda: corrections.undo(store),
        lambda: store.remove_concept("mimi"),
    ]
    saved: list = []
    seen = set()
    for n, step in enumerate(steps):
        step()
        # as after_change, but never the shortcut to a full pass a store this small would take
        report = rematch.update(store, model, threshold, full_share=1.0)
        assert not report.full
        found = differences(matches(store), full_on_copy(store, album.parent / f"full-{n}", 5, model, threshold))
        assert not found, f"after step {n}: {found[:5]}"
        seen |= {accepted for _, _, accepted in matches(store).values()}
    assert seen == {0, 1}  # decisions both ways were made and kept in step
