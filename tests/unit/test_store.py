"""The concept store on real SQLite, real FAISS and the tiny real-format CLIP."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rap_desktop.core import health
from rap_desktop.core.errors import ConflictError, InvalidNameError, NotFoundError
from rap_desktop.core.images import load_image
from rap_desktop.core.session import Session
from rap_desktop.core.store import Store
from rap_desktop.core.vector_index import VectorIndex


def test_add_list_and_find_by_any_spelling(store: Store, photos: dict[str, Path]) -> None:
    result = store.add_concept("<Bo>", photos["chelsea"], info="<Bo> is a cat.", category="cat")
    assert result.embedded and result.warning == ""
    for spelling in ("bo", "<bo>", "BO", " Bo "):
        assert store.get_concept(spelling).id == result.concept.id
    listed = store.list_concepts()
    assert [(c.name, c.info, c.category, c.exemplar_count) for c in listed] == [("Bo", "<Bo> is a cat.", "cat", 1)]


def test_duplicate_names_are_refused_case_insensitively(store: Store, photos: dict[str, Path]) -> None:
    store.add_concept("bo", photos["chelsea"])
    with pytest.raises(ConflictError, match="<BO> already exists"):
        store.add_concept("BO", photos["coffee"])
    assert len(store.list_concepts()) == 1
    assert len(list(store.images_dir.rglob("*.*"))) == 1  # the refused photo left no file


def test_illegal_name_writes_nothing(store: Store, photos: dict[str, Path]) -> None:
    with pytest.raises(InvalidNameError):
        store.add_concept("../../etc/passwd", photos["chelsea"])
    assert store.list_concepts() == [] and not any(store.images_dir.rglob("*.*"))


def test_image_is_content_addressed_and_shared(store: Store, photos: dict[str, Path]) -> None:
    a = store.add_concept("a", photos["chelsea"]).exemplar
    b = store.add_concept("b", photos["chelsea"]).exemplar
    assert a.image == b.image == f"{load_image(photos['chelsea']).sha256}.png"
    path = store.image_path(a.image)
    assert path.read_bytes() == photos["chelsea"].read_bytes()
    store.remove_concept("a")
    assert path.exists()  # still named by b
    store.remove_concept("b")
    assert not path.exists()


def test_search_finds_the_same_photo_first(store: Store, photos: dict[str, Path]) -> None:
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        store.add_concept(name, photos[name])
    query = store.embedder.embed_images([load_image(photos["coffee"]).image])
    hits = store.search(query, k=2)[0]
    assert hits[0].concept == "coffee"
    assert hits[0].similarity == pytest.approx(1.0, abs=1e-4)
    assert hits[0].similarity >= hits[1].similarity


def test_changes_are_visible_to_the_very_next_query(store: Store, photos: dict[str, Path]) -> None:
    store.add_concept("cat", photos["chelsea"])
    query = store.embedder.embed_images([load_image(photos["rocket"]).image])
    assert store.search(query, 1)[0][0].concept == "cat"
    store.add_concept("rocket", photos["rocket"])
    assert store.search(query, 1)[0][0].concept == "rocket"
    store.edit_concept("rocket", rename="spaceship")
    assert store.search(query, 1)[0][0].concept == "spaceship"
    store.remove_concept("spaceship")
    assert store.search(query, 1)[0][0].concept == "cat"


def test_box_crops_before_embedding(store: Store, photos: dict[str, Path]) -> None:
    image = load_image(photos["astronaut"]).image
    box = (100.0, 20.0, 300.0, 250.0)
    result = store.add_concept("face", photos["astronaut"], box=box)
    assert result.exemplar.box == box
    crop = store.embedder.embed_images([image.crop(box)])
    whole = store.embedder.embed_images([image])
    stored = store.index().index.reconstruct(result.exemplar.id)
    assert np.allclose(stored, crop[0], atol=1e-5)
    assert not np.allclose(stored, whole[0], atol=1e-3)


def test_several_exemplars_per_concept(store: Store, photos: dict[str, Path]) -> None:
    store.add_concept("pets", photos["chelsea"])
    result = store.add_exemplar("PETS", photos["coffee"], box=(10, 10, 200, 200))
    assert result.concept.exemplar_count == 2
    assert [e.box for e in store.exemplars("pets")] == [None, (10.0, 10.0, 200.0, 200.0)]
    with pytest.raises(NotFoundError, match="<ghost>"):
        store.add_exemplar("ghost", photos["coffee"])


def test_rename_keeps_info_tags_in_step(store: Store, photos: dict[str, Path]) -> None:
    store.add_concept("bo", photos["chelsea"], info="<bo> is a cat; <BO> likes naps.")
    concept = store.edit_concept("bo", rename="Mochi", category="cat")
    assert concept.info == "<Mochi> is a cat; <Mochi> likes naps."
    assert concept.category == "cat"
    store.add_concept("other", photos["coffee"])
    with pytest.raises(ConflictError):
        store.edit_concept("mochi", rename="OTHER")
    assert store.get_concept("mochi").name == "Mochi"


def test_add_many_is_all_or_nothing(store: Store, photos: dict[str, Path]) -> None:
    from rap_desktop.core.store import NewConcept, NewExemplar

    store.add_concept("taken", photos["coffee"])
    batch = [
        NewConcept("fresh", exemplars=(NewExemplar(load_image(photos["chelsea"])),)),
        NewConcept("Taken", exemplars=(NewExemplar(load_image(photos["rocket"])),)),
    ]
    with pytest.raises(ConflictError):
        store.add_many(batch)
    assert [c.name for c in store.list_concepts()] == ["taken"]
    assert health.check(store) == []
    added = store.add_many(batch, skip_existing=True)
    assert [r.concept.name for r in added] == ["fresh"]


def test_index_cache_is_reused_and_rebuilt_when_stale_or_corrupt(
    home: Path, tiny_config: Path, photos: dict[str, Path]
) -> None:
    with Session.open(home, tiny_config).store() as store:
        store.add_concept("cat", photos["chelsea"])
        store.index()  # loaded now, so kept current in place by the next add
        store.add_concept("mug", photos["coffee"])
        generation = store.generation()
    model = "tiny-clip"
    index_dir = home / "cache" / "index"
    assert VectorIndex.load(index_dir, model, generation, 2) is not None  # flushed on close
    assert VectorIndex.load(index_dir, model, generation - 1, 2) is None  # a stale one is never trusted

    for damage in (b"garbage", b""):
        faiss_file = next(index_dir.glob("*.faiss"))
        faiss_file.write_bytes(damage)
        session = Session.open(home, tiny_config)
        store = session.store()
        assert health.check(store) == []
        hits = store.search(store.embedder.embed_images([load_image(photos["coffee"]).image]), 1)
        assert hits[0][0].concept == "mug"
        session.close()


CRASH = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    import rap_desktop.torch_compat
    from rap_desktop.core.fsutil import TEMP_MARK
    from rap_desktop.core.images import load_image
    from rap_desktop.core.store import Store

    store = Store(Path(sys.argv[1]))
    with store.transaction():
        name = store.store_file(load_image(Path(sys.argv[2])))
        path = store.image_path(name)
        # a second write of the transaction, cut short mid-write: the temp file atomic_file leaves
        path.with_name(name.replace("0", "1", 1) + TEMP_MARK + "0123456789ab").write_bytes(b"half")
        store._journal.record([name.replace("0", "1", 1)])
        print(name, flush=True)
        os._exit(0)  # the process dies before COMMIT: no row names the file
    """
)


def test_a_crash_leaves_nothing_behind_and_nothing_else_is_removed(store: Store, home: Path, photos) -> None:
    kept = store.add_concept("cat", photos["chelsea"]).exemplar
    # files the app did not make, some shaped like its own: none may ever be removed
    users = {
        store.images_dir / "mine" / "holiday.jpg": b"a user's photo",
        store.images_dir / "notes.txt": b"notes",
        store.images_dir / "ab" / ("ab" * 32 + ".png"): b"named like ours, not ours",
        store.images_dir / "cd" / ("cd" * 32 + ".png.tmp-0123456789ab"): b"a temp name, not ours",
    }
    for path, data in users.items():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    out = subprocess.run(
        [sys.executable, "-c", CRASH, str(home), str(photos["coffee"])], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    crashed = store.image_path(out.stdout.strip())
    temp = crashed.with_name(crashed.name.replace("0", "1", 1) + ".tmp-0123456789ab")
    assert crashed.is_file() and temp.is_file()  # what the crash left
    Store(home, store.embedder).close()  # the next open cleans up after the dead writer
    assert not crashed.exists() and not temp.exists()
    assert store.image_path(kept.image).is_file()
    assert {p: p.read_bytes() for p in users} == users
    assert list((home / "pending").iterdir()) == [store._journal.path]  # the dead writer's journal is gone


def test_missing_model_stores_and_embeds_later(home: Path, tiny_config: Path, photos: dict[str, Path]) -> None:
    broken = tiny_config.parent / "missing-weights.toml"
    broken.write_text(tiny_config.read_text().replace('path = "tiny-clip"', 'path = "nowhere"'))
    session = Session.open(home, broken)
    result = session.store().add_concept("cat", photos["chelsea"])
    assert not result.embedded
    assert "tiny-clip" in result.warning and "nowhere" in result.warning
    session.close()

    session = Session.open(home, tiny_config)
    store = session.store()
    assert store.index().count == 0
    assert store.embed_missing() == 1
    query = store.embedder.embed_images([load_image(photos["chelsea"]).image])
    assert store.search(query, 1)[0][0].concept == "cat"
    assert store.embed_missing() == 0
    session.close()


def test_exemplar_rows_round_trip_to_json(store: Store, photos: dict[str, Path]) -> None:
    store.add_concept("cat", photos["chelsea"], box=(1, 2, 30, 40))
    raw = store.conn.execute("SELECT box FROM exemplars").fetchone()[0]
    assert json.loads(raw) == [1.0, 2.0, 30.0, 40.0]
