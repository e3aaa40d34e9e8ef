"""The "Who's this?" queue does not cluster again for every question: the groups' listing is reused
between answers (counted by the stored basis's generation, one per clustering), regions that join the
unmatched set (new photos, an undo) have it clustered again, and the answers stay right. The uncertain
matches and the unmatched regions are read through plans that do not scan or sort the whole album.

A real store (SQLite, FAISS, the album's re-match) whose regions lie around chosen centres."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rap_desktop.core import corrections, groups, review
from rap_desktop.core.album import rematch
from rap_desktop.core.images import load_image, sha256_bytes
from rap_desktop.core.regions import Proposal
from rap_desktop.core.store import NewConcept, NewExemplar, Store, photos, review_cache
from rap_desktop.core.store import groups as groups_table
from rap_desktop.core.store import review as review_table

MODEL = "synthetic"
DIM = 24
THRESHOLD = 0.8
SETTINGS = review.Settings(THRESHOLD, group_threshold=0.9, min_size=3)
UNKNOWN = (6, 5, 5, 4, 4, 3)  # look-alike sets no concept claims (strangers, relatives never named)


class Vectors:
    model_id = MODEL


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.atleast_2d(v).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


class Album:
    """Photos (real files, one region each) around centres: the unknown sets, <Bo> and <Bea> (look-alikes:
    some of their photos are unsure matches), and noise."""

    def __init__(self, home: Path) -> None:
        self.rng = np.random.default_rng(7)
        self.store = Store(home / "home", Vectors())
        self.folder = home / "photos"
        self.folder.mkdir()
        self.photos = 0
        self.centres = _unit(self.rng.standard_normal((len(UNKNOWN) + 2, DIM)))
        bo = len(UNKNOWN)
        self.centres[bo + 1] = _unit(self.centres[bo] + 0.45 * _unit(self.rng.standard_normal(DIM)))[0]
        for c, size in enumerate(UNKNOWN):
            self.add(self.around(np.full(size, c), 0.1))
        for c, name in ((bo, "Bo"), (bo + 1, "Bea")):
            shots = self.around(np.full(2, c), 0.05)
            exemplars = tuple(NewExemplar(self._image(name + str(i)), vectors={MODEL: v}) for i, v in enumerate(shots))
            self.store.add_many([NewConcept(name, category="person", exemplars=exemplars)])
            self.add(self.around(np.full(8, c), np.linspace(0.2, 0.8, 8)))
        self.add(_unit(self.rng.standard_normal((10, DIM))))
        rematch.rematch(self.store, MODEL, THRESHOLD)

    def around(self, centres: np.ndarray, spread) -> np.ndarray:
        noise = self.rng.standard_normal((len(centres), DIM)) / np.sqrt(DIM)
        return _unit(self.centres[centres] + np.reshape(spread, (-1, 1)) * noise)

    def _image(self, name: str):
        return load_image(self._png(), name=name)

    def _png(self) -> bytes:
        self.photos += 1
        image = Image.new("RGB", (16, 16), (self.photos % 256, self.photos // 256, 9))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()

    def add(self, vectors: np.ndarray) -> list[int]:
        """A new photo per vector, with one region: what indexing new photos adds."""
        out = []
        for vector in vectors:
            data = self._png()
            path = self.folder / f"{self.photos}.png"
            path.write_bytes(data)
            photo = photos.photo_id(self.store, sha256_bytes(data), str(path), (16, 16))
            proposal = Proposal((1.0, 1.0, 12.0, 12.0), "person", 0.9, "detector")
            out.append(photos.add_region(self.store, photo, proposal, vector, MODEL).id)
        return out

    def queue(self, skipped: frozenset[str] = frozenset()) -> list[review.Question]:
        return review.queue(self.store, MODEL, SETTINGS, skipped, limit=50)

    def generation(self) -> int:
        found = review_cache.basis(self.store)
        return found.generation if found else 0

    def answer(self, asked: review.Question, word: str) -> None:
        """An answer as the window and the CLI give it: the store part, then the album's re-match."""
        if asked.kind == "group":
            review.answer_group(self.store, MODEL, asked, word)
        else:
            review.answer_match(self.store, asked, word)
        rematch.update(self.store, MODEL, THRESHOLD)

    def unmatched(self) -> set[int]:
        return set(groups_table.unmatched_ids(self.store, MODEL, False, 10_000))


@pytest.fixture
def album(tmp_path: Path) -> Album:
    made = Album(tmp_path)
    yield made
    made.store.close()


def _groups(asked: list[review.Question]) -> dict[str, set[int]]:
    return {q.id: set(q.regions) for q in asked if q.kind == "group"}


def test_answers_reuse_the_listing_and_no_answered_question_comes_back(album: Album) -> None:
    first = album.queue()
    shown = _groups(first)
    assert sorted(len(r) for r in shown.values()) == sorted(UNKNOWN)  # every look-alike set, nothing else
    clustered = album.generation()
    assert clustered == 1

    hidden = first[0]
    album.answer(hidden, "hide")
    named = album.queue()[0]
    album.answer(named, "Cy")
    rest = album.queue()
    skipped = rest[0]
    after_skip = album.queue(frozenset({skipped.id}))

    assert album.generation() == clustered  # three questions asked after two answers: no clustering
    asked = _groups(after_skip)
    assert not {hidden.id, named.id, skipped.id} & set(asked)
    assert set(asked) < set(shown)  # the others keep their ids and their regions
    assert all(asked[gid] == shown[gid] for gid in asked)
    assert not (set(hidden.regions) | set(named.regions)) & {r for regions in asked.values() for r in regions}
    assert {r for regions in _groups(rest).values() for r in regions} <= album.unmatched()
    cy = album.store.get_concept("Cy").id
    confirmed = album.store.conn.execute(
        "SELECT region_id FROM matches WHERE concept_id = ? AND status = 'confirmed'", (cy,)
    )
    assert {r for (r,) in confirmed} == set(named.regions)

    # clustering afresh finds the very groups the reused listing shows, under the same ids
    fresh = groups.find_groups(album.store, MODEL, SETTINGS.group_threshold, SETTINGS.min_size, reuse=False)
    assert album.generation() == clustered + 1
    assert {f"g{g.id}": set(g.regions) for g in fresh} == _groups(rest)


def test_new_look_alikes_have_the_groups_clustered_again_lone_regions_do_not(album: Album) -> None:
    before = _groups(album.queue())
    clustered = album.generation()

    lone = album.add(_unit(album.rng.standard_normal((3, DIM))))  # new photos that look like no one
    assert _groups(album.queue()) == before
    assert album.generation() == clustered
    centre = _unit(album.rng.standard_normal(DIM))
    new = album.add(_unit(centre + 0.1 * album.rng.standard_normal((4, DIM)) / np.sqrt(DIM)))
    after = _groups(album.queue())
    assert album.generation() == clustered + 1
    assert set(new) in after.values()  # the new look-alike photos are asked about
    assert {gid: r for gid, r in after.items() if r != set(new)} == before
    assert not set(lone) & {r for regions in after.values() for r in regions}


def test_an_undone_answer_gets_its_group_back_as_it_was(album: Album) -> None:
    first = album.queue()
    clustered = album.generation()
    hidden = first[0]
    album.answer(hidden, "hide")
    assert corrections.undo(album.store).action == "hide"  # taken back before the next question
    assert _groups(album.queue()) == _groups(first)  # offered again, under its id
    album.answer(hidden, "hide")
    album.queue()
    # a change that has the groups clustered again, then its undo: the groups before it, as they were
    centre = _unit(album.rng.standard_normal(DIM))
    album.add(_unit(centre + 0.1 * album.rng.standard_normal((4, DIM)) / np.sqrt(DIM)))
    named = album.queue()[0]
    album.answer(named, "Cy")
    middle = _groups(album.queue())
    assert corrections.undo(album.store).action == "name_group"
    rematch.update(album.store, MODEL, THRESHOLD)
    back = _groups(album.queue())
    assert back[named.id] == set(named.regions) and set(middle) < set(back)
    assert album.generation() == clustered + 1  # only the new look-alikes were clustered


def test_a_rejected_match_joins_the_unknown_regions(album: Album) -> None:
    album.queue()
    clustered = album.generation()
    unsure = [q for q in album.queue() if q.kind == "match"]
    assert unsure
    album.answer(unsure[0], "no")
    asked = album.queue()
    assert unsure[0].id not in {q.id for q in asked}
    assert unsure[0].regions[0] in album.unmatched()
    assert not {unsure[0].regions[0]} & {r for q in asked if q.kind == "group" for r in q.regions}
    assert album.generation() == clustered  # it looks like no other unknown region: no group can change


def _plans(store: Store, statements: list[str], marker: str) -> list[str]:
    return [
        " / ".join(row[3] for row in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        for sql in statements
        if marker in sql
    ]


def test_the_queue_reads_through_indexes_not_scans_or_sorts(album: Album) -> None:
    statements: list[str] = []
    album.store.conn.set_trace_callback(statements.append)
    album.queue()
    review_table.uncertain_matches(album.store, MODEL, THRESHOLD, review.MARGIN, review.CLOSE, 50)
    album.store.conn.set_trace_callback(None)
    unmatched = _plans(album.store, statements, "FROM regions r")
    assert unmatched and all("TEMP B-TREE" not in plan for plan in unmatched)  # walks the ids down, no sort
    unsure = _plans(album.store, statements, "WITH unsure")
    assert unsure and all("matches_unsure" in plan for plan in unsure)
    assert all("SEARCH m USING INDEX matches_unsure" not in plan for plan in unsure)


@pytest.mark.parametrize(("threshold", "margin", "close"), [(0.8, 0.03, 0.02), (0.85, 0.05, 0.1), (0.7, 0.0, 0.3)])
def test_the_uncertain_matches_through_the_index_are_those_of_the_scan(
    album: Album, threshold: float, margin: float, close: float
) -> None:
    found = review_table.uncertain_matches(album.store, MODEL, threshold, margin, close, 100)
    assert found == review_table.uncertain_matches(album.store, MODEL, threshold, margin, close, 100, scan=True)
    if threshold == THRESHOLD:
        assert found


def test_the_window_builds_one_question_and_counts_the_rest(album: Album) -> None:
    every = album.queue()
    for skipped in (frozenset(), frozenset({every[0].id, every[-1].id})):
        questions = album.queue(skipped)
        first, waiting = review.ahead(album.store, MODEL, SETTINGS, skipped, limit=50)
        assert first == questions[0] and waiting == len(questions)
    assert review.ahead(album.store, MODEL, SETTINGS, limit=3)[1] == 3
    skipped_all = frozenset(q.id for q in review.queue(album.store, MODEL, SETTINGS, limit=500))
    assert review.ahead(album.store, MODEL, SETTINGS, skipped_all) == (None, 0)


def test_hiding_a_stranger_takes_the_look_alikes_out_of_the_other_listed_groups(album: Album) -> None:
    album.queue()
    centre = _unit(album.rng.standard_normal(DIM))
    many = set(album.add(_unit(centre + 0.05 * album.rng.standard_normal((40, DIM)) / np.sqrt(DIM))))
    asked = album.queue()  # 40 photos of one stranger: more than a group holds, so two groups
    theirs = [q for q in asked if q.kind == "group" and set(q.regions) <= many]
    assert len(theirs) == 2
    clustered = album.generation()
    album.answer(max(theirs, key=lambda q: len(q.regions)), "hide")
    after = album.queue()
    assert album.generation() == clustered  # no clustering for the answer
    assert not many & {r for q in after if q.kind == "group" for r in q.regions}  # the rest of them went too
