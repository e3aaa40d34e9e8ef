"""The incremental album re-match (`rematch.update`) writes exactly the rows of the full pass
(`rematch.rematch`) after random sequences of changes, on a real store with clustered vectors.

The full pass runs on a copy of the store after every change, so the incremental chain never sees
its result: a photo the incremental path failed to re-decide stays wrong and shows up as a
difference, however many changes later."""

from __future__ import annotations

import io
import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rap_desktop.core import corrections, group_naming, groups, removal
from rap_desktop.core.album import rematch
from rap_desktop.core.errors import RapError
from rap_desktop.core.images import load_image, sha256_bytes
from rap_desktop.core.regions import Proposal
from rap_desktop.core.store import NewConcept, NewExemplar, Store, photos

MODEL = "synthetic"
DIM = 24
THRESHOLD = 0.8


class Vectors:
    """The image encoder's place for concepts added with a photo: hands out the vectors queued."""

    model_id = MODEL

    def __init__(self) -> None:
        self.queue: list[np.ndarray] = []

    def embed_images(self, images) -> np.ndarray:
        out, self.queue = np.stack(self.queue[: len(images)]), self.queue[len(images) :]
        return out


def _png(code: int) -> bytes:
    image = Image.new("RGB", (8, 8), (code % 256, code // 256 % 256, 9))
    image.putpixel((1, 1), (code // 65536 % 256, 3, 4))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


class Album:
    """A store with photos (real files) whose regions lie around cluster centres, some of which are
    concepts; the changes a person makes, picked at random."""

    def __init__(self, home: Path, seed: int, photos_n: int = 100) -> None:
        self.rng = np.random.default_rng(seed)
        self.pick = random.Random(seed)
        self.embedder = Vectors()
        self.store = Store(home / "home", self.embedder)
        self.centres = self._unit(self.rng.standard_normal((16, DIM)))
        self.codes = 0
        self.names: list[str] = []
        self.removed: list[list[removal.RemovedConcept]] = []
        folder = home / "photos"
        folder.mkdir()
        rows = []
        for i in range(photos_n):
            data = _png(i)
            path = folder / f"{i}.png"
            path.write_bytes(data)
            rows.append((sha256_bytes(data), str(path)))
        with self.store.transaction():
            self.store.conn.executemany(
                "INSERT INTO photos(sha256, path, width, height, added) VALUES (?,?,8,8,0)", rows
            )
            for photo_id in range(1, photos_n + 1):
                n = int(self.rng.integers(1, 6))
                vectors = self._around(self.rng.integers(0, len(self.centres), n), 0.6)
                self.store.conn.executemany(
                    "INSERT INTO regions(photo_id, ordinal, x1, y1, x2, y2, label, score, source, model, vector) "
                    "VALUES (?,?,0,0,4,4,'thing',0.5,'detector',?,?)",
                    [(photo_id, k + 1, MODEL, v.tobytes()) for k, v in enumerate(vectors)],
                )
        for _ in range(5):
            self.add_concept()

    @staticmethod
    def _unit(v: np.ndarray) -> np.ndarray:
        v = np.atleast_2d(v).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def _around(self, clusters: np.ndarray, spread: float) -> np.ndarray:
        noise = self.rng.standard_normal((len(clusters), DIM)) / np.sqrt(DIM)  # about `spread` long
        return self._unit(self.centres[clusters] + spread * noise)

    def _image(self):
        self.codes += 1
        return load_image(_png(100_000 + self.codes), name=f"exemplar {self.codes}")

    def _region(self) -> tuple[str, str, photos.StoredRegion]:
        photo_id, ordinal = self.store.conn.execute(
            "SELECT photo_id, ordinal FROM regions WHERE model = ? ORDER BY id LIMIT 1 OFFSET ?",
            (MODEL, self.pick.randrange(self._count("SELECT COUNT(*) FROM regions"))),
        ).fetchone()
        sha = self.store.conn.execute("SELECT sha256 FROM photos WHERE id = ?", (photo_id,)).fetchone()[0]
        return sha, f"r{ordinal}", photos.region(self.store, photo_id, f"r{ordinal}")

    def _count(self, sql: str) -> int:
        return int(self.store.conn.execute(sql).fetchone()[0])

    def _concept(self) -> str:
        return self.pick.choice(self.names)

    # --- the changes ----------------------------------------------------------------------------

    def add_concept(self) -> None:
        cluster = self.rng.integers(0, len(self.centres), 1).repeat(int(self.rng.integers(1, 4)))
        name = f"c{self.codes}"
        exemplars = tuple(NewExemplar(self._image(), vectors={MODEL: v}) for v in self._around(cluster, 0.3))
        self.store.add_many([NewConcept(name, exemplars=exemplars)])
        self.names.append(name)

    def add_exemplar(self) -> None:
        self.embedder.queue = list(self._around(self.rng.integers(0, len(self.centres), 1), 0.3))
        self.store.add_exemplar(self._concept(), self._image())

    def remove_exemplar(self) -> None:
        exemplar = self.pick.choice(self.store.exemplars(self._concept()))
        self.store.remove_exemplar(exemplar.id)

    def remove_concept(self) -> None:
        name = self._concept()
        self.names.remove(name)
        if self.pick.random() < 0.5:
            self.store.remove_concept(name)
        else:  # the GUI's undoable removal; sometimes undone later
            self.removed.append(removal.remove(self.store, [name]))

    def restore(self) -> None:
        if self.removed:
            self.names += removal.restore(self.store, self.removed.pop())

    def rename(self) -> None:
        name = self._concept()
        new = f"{name}x"
        self.store.edit_concept(name, rename=new, info="edited", category="thing")
        self.names[self.names.index(name)] = new

    def _said(self) -> str | None:
        return self._concept() if self.pick.random() < 0.5 else None  # None: the concept it shows now

    def confirm(self) -> None:
        sha, region, _ = self._region()
        corrections.confirm(self.store, sha, region, self._said())

    def reject(self) -> None:
        sha, region, _ = self._region()
        corrections.reject(self.store, sha, region, self._said())

    def reassign(self) -> None:
        sha, region, _ = self._region()
        target = self._concept() if self.pick.random() < 0.6 else f"n{self.codes}"
        corrections.reassign(self.store, sha, region, target)
        self.codes += 1
        if target not in self.names:
            self.names.append(target)

    def undo(self) -> None:
        done = corrections.undo(self.store)
        self.names = [c.name for c in self.store.list_concepts()]
        assert done.action

    def _look_alikes(self) -> list[int]:
        """A region and the regions most like it (what the groups listing offers)."""
        rows = self.store.conn.execute("SELECT id, vector FROM regions WHERE model = ?", (MODEL,)).fetchall()
        vectors = np.stack([np.frombuffer(v, np.float32) for _, v in rows])
        founder = self.pick.randrange(len(rows))
        nearest = np.argsort(-(vectors @ vectors[founder]))[: self.pick.randint(2, 6)]
        return [rows[founder][0], *(rows[i][0] for i in nearest if i != founder)]

    def name_group(self) -> None:
        name = f"g{self.codes}"
        self.codes += 1
        group_naming.name_regions(self.store, MODEL, tuple(self._look_alikes()), name)
        self.names.append(name)

    def name_group_as(self) -> None:
        """A group named as a concept that exists: its members confirmed, one exemplar more."""
        groups.name_members(self.store, MODEL, self._look_alikes(), self._concept())

    def draw_region(self) -> None:
        photo_id = self.pick.randrange(1, self._count("SELECT COUNT(*) FROM photos") + 1)
        vector = self._around(self.rng.integers(0, len(self.centres), 1), 0.35)[0]
        photos.add_region(self.store, photo_id, Proposal((1, 1, 5, 5), "user", 1.0, "user"), vector, MODEL)

    def redetect(self) -> None:
        photo_id = self.pick.randrange(1, self._count("SELECT COUNT(*) FROM photos") + 1)
        n = int(self.rng.integers(1, 5))
        vectors = self._around(self.rng.integers(0, len(self.centres), n), 0.35)
        proposals = [Proposal((0, 0, 4, 4), "thing", 0.5, "detector") for _ in range(n)]
        photos.replace_regions(self.store, photo_id, proposals, vectors, MODEL, "detector")

    CHANGES = (
        ("add_concept", 3),
        ("add_exemplar", 3),
        ("remove_exemplar", 1),
        ("remove_concept", 1),
        ("restore", 1),
        ("rename", 1),
        ("confirm", 3),
        ("reject", 3),
        ("reassign", 2),
        ("undo", 2),
        ("name_group", 1),
        ("name_group_as", 1),
        ("draw_region", 1),
        ("redetect", 1),
    )

    def change(self) -> str:
        names, weights = zip(*self.CHANGES, strict=True)
        while True:
            what = self.pick.choices(names, weights)[0]
            if not self.names and what not in ("add_concept", "restore"):
                continue
            try:
                getattr(self, what)()
            except RapError:  # e.g. nothing to undo, nothing accepted to confirm: a person's no-op
                continue
            return what


def matches(store: Store) -> dict[tuple[int, int], tuple[float, str, int]]:
    rows = store.conn.execute("SELECT region_id, concept_id, similarity, status, accepted FROM matches")
    return {(r, c): (s, st, a) for r, c, s, st, a in rows}


def full_on_copy(
    store: Store, where: Path, neighbours: int = 5, model: str = MODEL, threshold: float = THRESHOLD
) -> dict[tuple[int, int], tuple[float, str, int]]:
    """The full pass's rows for the store as it is now, computed on a copy of it."""
    where.mkdir()
    with sqlite3.connect(where / "store.sqlite3") as target:
        store.conn.backup(target)
    copy = Store(where)
    try:
        rematch.rematch(copy, model, threshold, neighbours)
        return matches(copy)
    finally:
        copy.close()


def differences(got: dict, want: dict) -> list[str]:
    out = [f"missing {k} {want[k]}" for k in want.keys() - got.keys()]
    out += [f"extra {k} {got[k]}" for k in got.keys() - want.keys()]
    for key in got.keys() & want.keys():
        (s1, st1, a1), (s2, st2, a2) = got[key], want[key]
        if st1 != st2 or a1 != a2 or abs(s1 - s2) > 1e-5:
            out.append(f"differs {key}: incremental {got[key]} full {want[key]}")
    return sorted(out)


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "neighbours"), [(1, 3), (2, 2), (3, 5)])
def test_incremental_rows_equal_the_full_pass_after_random_changes(tmp_path: Path, seed: int, neighbours) -> None:
    album = Album(tmp_path, seed)
    first = rematch.update(album.store, MODEL, THRESHOLD, neighbours)
    assert first.full  # nothing recorded yet
    done = []
    for step in range(30):
        done.append(album.change())
        # never the full pass's shortcut: the incremental path decides every change, however large
        report = rematch.update(album.store, MODEL, THRESHOLD, neighbours, full_share=1.0)
        assert not report.full
        want = full_on_copy(album.store, tmp_path / f"full-{step}", neighbours)
        found = differences(matches(album.store), want)
        assert not found, f"after {done}: {found[:5]}"
    album.store.close()


def test_an_edit_that_changes_no_input_re_decides_nothing(tmp_path: Path) -> None:
    album = Album(tmp_path, 7)
    rematch.update(album.store, MODEL, THRESHOLD)
    album.rename()
    report = rematch.update(album.store, MODEL, THRESHOLD)
    assert not report.full and report.redecided == 0 and report.written == 0
    assert report.regions == album._count("SELECT COUNT(*) FROM regions")
    album.store.close()


def test_rows_go_when_the_last_exemplar_goes(tmp_path: Path) -> None:
    """Concepts left without photos rank for no region: every region's rows go, none are written."""
    album = Album(tmp_path, 9)
    rematch.update(album.store, MODEL, THRESHOLD)
    assert matches(album.store)
    for exemplar in album.store.exemplars():
        album.store.remove_exemplar(exemplar.id)
        report = rematch.update(album.store, MODEL, THRESHOLD, full_share=1.0)
        assert not report.full
    assert matches(album.store) == {}
    album.store.close()


def test_a_lost_or_foreign_record_means_a_full_pass(tmp_path: Path) -> None:
    album = Album(tmp_path, 8)
    rematch.update(album.store, MODEL, THRESHOLD)
    assert not rematch.update(album.store, MODEL, THRESHOLD).full
    assert rematch.update(album.store, MODEL, THRESHOLD - 0.1).full  # another threshold
    for path in (album.store.home / "cache" / "album").glob("rematch-*.npz"):
        path.write_bytes(b"not a record")
    assert rematch.update(album.store, MODEL, THRESHOLD).full
    album.store.close()
