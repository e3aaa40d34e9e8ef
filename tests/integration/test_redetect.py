"""A photo detected again (a new concept category changes the detector's prompts) keeps what the
user said about its regions: tiny YOLO-World + tiny CLIP on a package photo, the real store."""

from __future__ import annotations

from rap_desktop.core import corrections
from rap_desktop.core.images import load_image
from rap_desktop.core.regions import iou
from rap_desktop.core.retrieval import CONFIRMED, REJECTED, RegionResult, RetrievalResult
from rap_desktop.core.session import Session
from rap_desktop.core.store import photos as photo_rows


def _decision(region: RegionResult, concept: str) -> str | None:
    return next((c.decision for c in region.candidates if c.concept == concept), None)


def _holding(result: RetrievalResult, concept: str, decision: str) -> list[RegionResult]:
    return [r for r in result.regions if _decision(r, concept) == decision]


def _carried(old: RegionResult, new: RegionResult) -> bool:
    """The new region took over the old one's decisions: enough overlap, or the old box kept."""
    return new.box == old.box or iou(old.box, new.box) >= photo_rows.CARRY_IOU


def test_corrections_survive_redetection_and_undo_still_takes_them_back(session: Session, photos) -> None:
    store, retriever = session.store(), session.retriever()
    retriever.threshold = 0.999  # random weights: only what the user says is accepted
    store.add_concept("bo", photos["chelsea"], category="person")
    path = photos["zidane"]

    def look() -> RetrievalResult:
        return retriever.retrieve(load_image(path), path=str(path))

    first = look()
    detected = [r for r in first.regions if r.source == "detector"]
    assert len(detected) >= 2
    yes, no = detected[0], detected[1]
    corrections.confirm(store, first.photo, yes.id, "bo")
    corrections.reject(store, first.photo, no.id, "bo")
    drawn = retriever.add_box(load_image(path), (30.0, 40.0, 250.0, 300.0), "face")
    corrections.reassign(store, first.photo, drawn.name, "zizou", category="person")  # a new concept from it
    before = look()
    assert {r.db_id for r in before.regions} == {r.db_id for r in first.regions} | {drawn.id}  # not re-detected
    assert [r.id for r in _holding(before, "bo", CONFIRMED)] == [yes.id]
    assert [r.id for r in _holding(before, "bo", REJECTED)] == [no.id]

    key = retriever.detector_key()[1]
    store.add_concept("sofa", photos["coffee"], category="sofa")  # a new prompt: the photo is detected again
    assert retriever.detector_key()[1] != key
    after = look()
    assert not {r.db_id for r in after.regions} & {r.db_id for r in before.regions}  # really new rows
    assert [r.id for r in after.regions] == [f"r{i}" for i in range(1, len(after.regions) + 1)]

    (confirmed,) = _holding(after, "bo", CONFIRMED)
    (rejected,) = _holding(after, "bo", REJECTED)
    (zizou,) = _holding(after, "zizou", CONFIRMED)
    assert _carried(yes, confirmed) and _carried(no, rejected) and confirmed.db_id != rejected.db_id
    assert zizou.source == "user" and zizou.box == drawn.box and zizou.label == "face"
    assert confirmed.accepted.concept == "bo" and zizou.accepted.concept == "zizou"
    links = [r[0] for r in store.conn.execute("SELECT region_id FROM negatives")]
    assert links == [rejected.db_id]  # the negative still names its region
    assert retriever.retrieve(load_image(path)).regions == after.regions  # stored: no third detection

    # undo takes each correction back on the new rows, newest first
    corrections.undo(store)  # the reassignment: "zizou" goes, the drawn box stays
    assert store.find_concept("zizou") is None
    regions = look().regions
    assert any(r.source == "user" and r.box == drawn.box for r in regions)
    corrections.undo(store)  # the rejection
    assert not _holding(look(), "bo", REJECTED) and not store.conn.execute("SELECT 1 FROM negatives").fetchone()
    assert _holding(look(), "bo", CONFIRMED)
    corrections.undo(store)  # the confirmation
    assert not _holding(look(), "bo", CONFIRMED)
    assert store.conn.execute("SELECT COUNT(*) FROM matches WHERE status != 'auto'").fetchone()[0] == 0


def test_redetection_without_decisions_replaces_every_region(session: Session, photos) -> None:
    store, retriever = session.store(), session.retriever()
    path = photos["bus"]
    first = retriever.retrieve(load_image(path), path=str(path))
    store.add_concept("sofa", photos["coffee"], category="sofa")
    after = retriever.retrieve(load_image(path), path=str(path))
    assert all(r.source != "user" for r in after.regions)
    assert not {r.db_id for r in after.regions} & {r.db_id for r in first.regions}
    # nothing carried over: only fresh detections and the whole photo
    assert sum(r.source == "whole" for r in after.regions) <= 1


def test_a_named_group_survives_redetection_and_its_undo_takes_it_back(session: Session, photos) -> None:
    import json

    from rap_desktop.core import group_naming

    store, retriever = session.store(), session.retriever()
    retriever.threshold = 0.999
    path = photos["zidane"]
    first = retriever.retrieve(load_image(path), path=str(path))
    detected = [r for r in first.regions if r.source == "detector"]
    a, b = min(  # two boxes apart: each carries to a region of its own
        ((x, y) for i, x in enumerate(detected) for y in detected[i + 1 :]), key=lambda p: iou(p[0].box, p[1].box)
    )
    members = (a.db_id, b.db_id)
    group_naming.name_regions(store, session.embedder.model_id, members, "gang", category="person")
    store.add_concept("sofa", photos["coffee"], category="sofa")  # the photo is detected again
    after = retriever.retrieve(load_image(path), path=str(path))
    assert not {r.db_id for r in after.regions} & set(members)
    live = {r.db_id for r in after.regions}
    gang = store.get_concept("gang").id
    carried = {
        r
        for (r,) in store.conn.execute(
            "SELECT region_id FROM matches WHERE concept_id = ? AND status = 'confirmed'", (gang,)
        )
    }
    assert len(carried) == 2 and carried <= live  # both carried to new regions
    (payload,) = [json.loads(p) for (p,) in store.conn.execute("SELECT payload FROM corrections")]
    assert {m["region"] for m in payload["members"]} <= live  # the log names the new rows
    corrections.undo(store)
    assert store.find_concept("gang") is None
    assert store.conn.execute("SELECT COUNT(*) FROM matches WHERE status != 'auto'").fetchone()[0] == 0


def test_undo_of_a_removal_finds_the_users_regions_on_a_photo_detected_again(session: Session, photos) -> None:
    from rap_desktop.core import removal

    store, retriever = session.store(), session.retriever()
    retriever.threshold = 0.999
    store.add_concept("sofa", photos["coffee"], category="sofa")
    store.add_concept("bo", photos["chelsea"], category="gnome")  # the only gnome: removing it changes the prompts
    path = photos["zidane"]

    def look() -> RetrievalResult:
        return retriever.retrieve(load_image(path), path=str(path))

    first = look()
    drawn = retriever.add_box(load_image(path), (30.0, 40.0, 250.0, 300.0), "face")
    corrections.reassign(store, first.photo, drawn.name, "bo")  # the drawn box is <bo>, confirmed
    key = retriever.detector_key()[1]
    saved = removal.remove(store, ["bo"])
    assert retriever.detector_key()[1] != key
    again = look()  # detected again: new region rows; the drawn box is kept (a new row too)
    (kept,) = [r for r in again.regions if r.source == "user"]
    assert kept.box == drawn.box and kept.db_id != drawn.id

    removal.restore(store, saved)  # Ctrl+Z of the removal: the decision finds its region again
    manual = "SELECT region_id, status FROM matches WHERE status != 'auto'"
    assert store.conn.execute(manual).fetchall() == [(kept.db_id, "confirmed")]
    (confirmed,) = _holding(look(), "bo", CONFIRMED)  # <gnome> is a prompt again: detected once more, carried
    assert confirmed.box == drawn.box and confirmed.source == "user"
    corrections.undo(store)  # and the log names that region: the confirmation is taken back there
    assert not _holding(look(), "bo", CONFIRMED)
    assert store.conn.execute("SELECT COUNT(*) FROM matches WHERE status != 'auto'").fetchone()[0] == 0
