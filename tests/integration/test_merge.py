"""Merging two concepts (`concept merge KEEP OTHER`, the library's "Same person or thing…") on the
real store with the tiny models: everything of OTHER becomes KEEP's, a region matched to both keeps
the user's word, and one undo gives back every row of every table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rap_desktop.cli import main
from rap_desktop.core import actions, health
from rap_desktop.core.album import rematch
from rap_desktop.core.errors import RapError
from rap_desktop.core.images import load_image
from rap_desktop.core.retrieval import Retriever
from rap_desktop.core.session import Session
from rap_desktop.core.store import Store, captions


def tables(store: Store) -> dict[str, list]:
    """Every row of every table, sorted (the whole store as data)."""
    names = [r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {name: sorted(store.conn.execute(f"SELECT * FROM {name}").fetchall(), key=repr) for name in names}


def build(session: Session, photos: dict[str, Path]) -> dict:
    """Two concepts with photos, corrections of both (one region decided for both), a negative, a
    caption and a description naming the one that will go; the album re-matched as it would be."""
    store = session.store()
    retriever = Retriever(store, store.embedder, detector=None, threshold=0.999, limit=2)
    store.add_concept("mochi", photos["chelsea"], "<mochi> is our cat.", "cat")
    store.add_concept("kitty", photos["astronaut"], "<kitty> as a kitten.", "cat")
    store.add_concept("mug", photos["coffee"], "<mug> is <kitty>'s favourite.", "cup")
    found = {}
    for key in ("chelsea", "bus", "rocket", "zidane"):
        found[key] = retriever.retrieve(load_image(photos[key]), path=str(photos[key])).photo
    actions.confirm(session, found["chelsea"], "r1", "mochi")
    actions.reject(session, found["chelsea"], "r1", "kitty")  # the region is decided for both
    actions.reassign(session, found["bus"], "r1", "kitty")
    actions.reject(session, found["rocket"], "r1", "kitty")  # a negative of kitty
    actions.confirm(session, found["zidane"], "r1", "kitty")
    photo_ids = [r[0] for r in store.conn.execute("SELECT id FROM photos ORDER BY id")]
    captions.save_caption(store, photo_ids[1], "<Kitty> on a bus with <mochi>.", "tiny", ["kitty", "mochi"])
    captions.save_caption(store, photo_ids[2], "A rocket.", "tiny", [])
    rematch.after_change(session, full=True)
    return found


def test_merge_moves_everything_and_one_undo_gives_back_every_row(session: Session, photos) -> None:
    found = build(session, photos)
    store = session.store()
    mochi, kitty = store.get_concept("mochi"), store.get_concept("kitty")
    before = tables(store)
    q = store.conn.execute
    kitty_exemplars = {r[0] for r in q("SELECT id FROM exemplars WHERE concept_id = ?", (kitty.id,))}
    kitty_negatives = {r[0] for r in q("SELECT id FROM negatives WHERE concept_id = ?", (kitty.id,))}
    kitty_regions = {r[0] for r in q("SELECT region_id FROM matches WHERE concept_id = ?", (kitty.id,))}
    both = kitty_regions & {r[0] for r in q("SELECT region_id FROM matches WHERE concept_id = ?", (mochi.id,))}
    assert kitty_exemplars and kitty_negatives and both

    done = actions.merge_concepts(session, "MOCHI", "<kitty>")
    assert (done.value.keep, done.value.other) == ("mochi", "kitty")
    assert done.changes.concepts and done.changes.matches and done.changes.captions
    assert store.find_concept("kitty") is None
    assert kitty_exemplars <= {r[0] for r in q("SELECT id FROM exemplars WHERE concept_id = ?", (mochi.id,))}
    assert kitty_negatives <= {r[0] for r in q("SELECT id FROM negatives WHERE concept_id = ?", (mochi.id,))}
    assert not q("SELECT 1 FROM matches WHERE concept_id = ?", (kitty.id,)).fetchall()
    rank = {"confirmed": 3, "rejected": 2, "reassigned": 2, "auto": 1}
    for region in both:  # one row per region: the user's word first ("yes, mochi" beats "no, kitty")
        was = {c: (st, a) for r, c, _s, st, a in before["matches"] if r == region and c in (mochi.id, kitty.id)}
        (row,) = q("SELECT status, accepted FROM matches WHERE region_id = ? AND concept_id = ?", (region, mochi.id))
        if was[mochi.id][0] != was[kitty.id][0]:
            assert row == max(was.values(), key=lambda r: rank[r[0]])
    cat = store.conn.execute("SELECT id FROM photos WHERE sha256 = ?", (found["chelsea"],)).fetchone()[0]
    (chelsea_r1,) = q("SELECT id FROM regions WHERE photo_id = ? AND ordinal = 1", (cat,)).fetchone()
    assert chelsea_r1 in both
    decided = q(
        "SELECT status, accepted FROM matches WHERE region_id = ? AND concept_id IN (?, ?)",
        (chelsea_r1, mochi.id, kitty.id),
    )
    assert decided.fetchall() == [("confirmed", 1)]
    assert kitty_regions - both <= {r[0] for r in q("SELECT region_id FROM matches WHERE concept_id = ?", (mochi.id,))}
    texts = dict(q("SELECT text, concepts FROM album_captions").fetchall())
    assert texts["<mochi> on a bus with <mochi>."] == json.dumps(["mochi"])
    assert store.get_concept("mug").info == "<mug> is <mochi>'s favourite."
    logged = [json.loads(p) for a, p in q("SELECT action, payload FROM corrections WHERE action != 'merge'")]
    assert all(kitty.id not in (p.get("concept"), p.get("created")) for p in logged)
    astronaut = store.embedder.embed_images([load_image(photos["astronaut"]).image])
    assert store.search(astronaut, k=1)[0][0].concept == "mochi"  # kitty's photo is mochi's now
    assert health.check(store) == []

    undone = actions.undo_correction(session)
    assert undone.value.action == "merge"
    after = tables(store)
    merge_row = [r for r in after["corrections"] if r[2] == "merge"]
    assert len(merge_row) == 1 and merge_row[0][4] == 1  # the merge's own log entry, marked undone
    after["corrections"] = [r for r in after["corrections"] if r[2] != "merge"]
    seq = dict(before.pop("sqlite_sequence"))
    seq_after = dict(after.pop("sqlite_sequence"))
    assert seq_after == {**seq, "corrections": seq["corrections"] + 1}
    assert after == before  # every other row of every table, exactly
    assert store.search(astronaut, k=1)[0][0].concept == "kitty"
    assert health.check(store) == []  # the FAISS owner lookup follows the rows back


def test_bad_merges_change_nothing(session: Session, photos) -> None:
    store = session.store()
    store.add_concept("mochi", photos["chelsea"])
    store.add_concept("kitty", photos["astronaut"])
    before = tables(store)
    for keep, other, said in (("mochi", "Mochi", "same concept"), ("mochi", "nobody", "no concept named <nobody>")):
        with pytest.raises(RapError, match=said):
            actions.merge_concepts(session, keep, other)
    assert tables(store) == before


@pytest.fixture
def cli(home: Path, tiny_config: Path, capsys):
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(home), "--config", str(tiny_config), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_cli_merge_and_undo(cli, photos) -> None:
    assert cli("concept", "add", "mochi", str(photos["chelsea"]))[0] == 0
    assert cli("concept", "add", "kitty", str(photos["astronaut"]))[0] == 0
    for args, said in (
        (("mochi", "MOCHI"), "same concept"),
        (("mochi", "nobody"), "no concept named <nobody>"),
        (("nobody", "mochi"), "no concept named <nobody>"),
    ):
        code, out, err = cli("concept", "merge", *args)
        assert (code, out) == (2, "")
        assert err.count("\n") == 1 and said in err
    code, out, err = cli("concept", "merge", "mochi", "kitty", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["kept"], result["merged"], result["exemplars"]) == ("mochi", "kitty", 1)
    listed = json.loads(cli("concept", "list", "--json")[1])["concepts"]
    assert [(c["name"], c["exemplars"]) for c in listed] == [("mochi", 2)]
    assert cli("concept", "add", "Kitty", str(photos["coffee"]))[0] == 0  # the name is taken again
    code, out, err = cli("match", "undo")
    assert (code, out) == (2, "") and "cannot separate <kitty> again: <Kitty> exists now" in err
    assert cli("concept", "remove", "kitty")[0] == 0
    code, out, _ = cli("match", "undo")
    assert code == 0 and "merge" in out
    listed = json.loads(cli("concept", "list", "--json")[1])["concepts"]
    assert sorted((c["name"], c["exemplars"]) for c in listed) == [("kitty", 1), ("mochi", 1)]


def test_a_region_matched_to_both_keeps_the_users_word_then_the_stronger(store: Store, photos) -> None:
    from rap_desktop.core.actions.merge import merge

    keep = store.add_concept("mochi", photos["chelsea"]).concept.id
    other = store.add_concept("kitty", photos["astronaut"]).concept.id
    retriever = Retriever(store, store.embedder, detector=None, threshold=0.999)
    for key in ("chelsea", "bus", "rocket", "zidane"):
        retriever.retrieve(load_image(photos[key]), path=str(photos[key]))
    regions = [r[0] for r in store.conn.execute("SELECT id FROM regions ORDER BY id")]
    rows = {  # region: (KEEP's row, OTHER's row) as (similarity, status, accepted); what stays
        regions[0]: (((0.9, "auto", 1), (0.1, "confirmed", 1)), (0.1, "confirmed", 1)),  # the user's yes
        regions[1]: (((0.2, "auto", 0), (0.8, "auto", 1)), (0.8, "auto", 1)),  # the more similar
        regions[2]: (((0.7, "rejected", 0), (0.3, "confirmed", 1)), (0.3, "confirmed", 1)),  # yes beats no
        regions[3]: (((0.4, "confirmed", 1), (0.6, "confirmed", 1)), (0.4, "confirmed", 1)),  # KEEP's own
    }
    with store.transaction():
        store.conn.execute("DELETE FROM matches")
        for region, ((a, b), _) in rows.items():
            for concept, (sim, status, accepted) in ((keep, a), (other, b)):
                store.conn.execute(
                    "INSERT INTO matches VALUES (?, ?, ?, ?, ?)", (region, concept, sim, status, accepted)
                )
    merge(store, "mochi", "kitty")
    got = {
        r: (s, st, a)
        for r, s, st, a in store.conn.execute("SELECT region_id, similarity, status, accepted FROM matches")
    }
    assert got == {region: expected for region, (_, expected) in rows.items()}
