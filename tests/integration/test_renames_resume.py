"""A sidecar rewrite that did not finish (cancelled; the app killed or closed right after the rename)
stays owed in the store and is finished later: in the CLI at the next rename, merge or undo, or by
`album rename --resume`; a later rename of the same concept wins over the name asked then."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rap_desktop.cli import main
from rap_desktop.core import actions, xmp
from rap_desktop.core.album import name_jobs
from rap_desktop.core.cancel import CancelToken
from rap_desktop.core.images import load_image
from rap_desktop.core.retrieval import Retriever
from rap_desktop.core.session import Session
from rap_desktop.core.store import sidecar_jobs

PHOTOS = name_jobs.CHUNK + 5  # a cancel after the first chunk leaves some


def _photos_with_sidecars(session: Session, photos: dict[str, Path], folder: Path) -> list[Path]:
    """Distinct photos the store knows (one pixel differs), each with the app's sidecar naming bo."""
    store = session.store()
    store.add_concept("bo", photos["chelsea"])
    retriever = Retriever(store, store.embedder, detector=None, threshold=0.999)
    source = load_image(photos["rocket"]).image
    out = []
    for n in range(PHOTOS):
        photo = folder / f"p{n:02}.png"
        image = source.copy()
        image.putpixel((0, 0), (n, n, n))
        image.save(photo)
        retriever.retrieve(load_image(photo), path=str(photo))
        out.append(xmp.write_sidecar(photo, image.size, "<bo> naps.", ["bo"], []))
    return out


def _saying(sidecars: list[Path], name: str) -> int:
    return sum(f"<rdf:li>{name}</rdf:li>" in p.read_text() for p in sidecars)


def test_an_unfinished_rewrite_is_finished_later(session: Session, photos, tmp_path: Path, tiny_config: Path, capsys):
    sidecars = _photos_with_sidecars(session, photos, tmp_path)
    store = session.store()
    actions.edit_concept(session, "bo", rename="Bo")  # the store says Bo; the sidecars are owed it
    (job,) = sidecar_jobs.pending(store)
    assert (job.kind, job.old, job.new) == ("rename", "bo", "Bo")
    token = CancelToken()
    (report,) = name_jobs.run_pending(store, lambda progress: token.cancel(), token)  # Cancel after one chunk
    assert report.cancelled and len(report.rewritten) == name_jobs.CHUNK
    assert (_saying(sidecars, "bo"), _saying(sidecars, "Bo")) == (5, name_jobs.CHUNK)
    assert sidecar_jobs.pending(store) == [job]  # still owed
    session.close()

    def cli(*args: str) -> tuple[int, str, str]:
        code = main(["--home", str(session.home), "--config", str(tiny_config), *args])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = cli("album", "rename")
    assert (code, out) == (2, "") and err.count("\n") == 1 and "--resume" in err
    # the next rename finishes it first, with the name the concept has by then
    code, out, err = cli("concept", "edit", "Bo", "--rename", "Bobby", "--json")
    assert code == 0, err
    assert len(json.loads(out)["sidecars"]) == PHOTOS  # 5 owed since the cancel, then all 30 again
    assert (_saying(sidecars, "bo"), _saying(sidecars, "Bo"), _saying(sidecars, "Bobby")) == (0, 0, PHOTOS)
    assert all("&lt;Bobby&gt; naps." in p.read_text() for p in sidecars)

    reopened = Session.open(session.home, tiny_config)  # a rename whose process died before the files
    try:
        actions.edit_concept(reopened, "Bobby", rename="Robert")
        assert len(sidecar_jobs.pending(reopened.store())) == 1
    finally:
        reopened.close()
    code, out, err = cli("album", "rename", "--resume")
    assert code == 0, err
    assert f"{PHOTOS} XMP sidecars now say <Robert> instead of <Bobby>" in out
    assert _saying(sidecars, "Robert") == PHOTOS
    code, out, err = cli("album", "rename", "--resume")
    assert (code, out.strip()) == (0, "no sidecar renames left to finish")


def test_a_merge_undone_while_its_rewrite_runs_is_written_back_whole(session: Session, photos, tmp_path: Path):
    """The undo lands between two steps of the merge's rewrite (the window: the store lane between
    two io chunks): the file renamed after the undo is written back too, by the undo's restore."""
    store = session.store()
    store.add_concept("bo", photos["chelsea"], "", "cat")
    store.add_concept("ben", photos["astronaut"], "", "person")
    retriever = Retriever(store, store.embedder, detector=None, threshold=0.999)
    sidecars = []
    for key in ("rocket", "coffee", "bus"):
        photo = Path(shutil.copy(photos[key], tmp_path / f"{key}{Path(photos[key]).suffix}"))
        found = retriever.retrieve(load_image(photo), path=str(photo))
        actions.confirm(session, found.photo, "r1", "bo")
        photo_id = store.conn.execute("SELECT id FROM photos WHERE sha256 = ?", (found.photo,)).fetchone()[0]
        store.conn.execute(
            "INSERT INTO album_captions(photo_id, text, model, concepts, created) VALUES (?, ?, 'tiny', ?, 0)",
            (photo_id, "<bo> naps.", json.dumps(["bo"])),
        )
        box = found.regions[0].box
        sidecars.append(xmp.write_sidecar(photo, found.size, "<bo> naps.", ["bo"], [xmp.Region("bo", "cat", box)]))
    actions.merge_concepts(session, "ben", "bo")
    (job,) = sidecar_jobs.pending(store)
    run = name_jobs.find(name_jobs.start(store, job))
    first, late, _ = [[p] for p in run.todo]
    assert name_jobs.record(store, run, first, name_jobs.rename_chunk(run, first))
    report = name_jobs.rename_chunk(run, late)  # in flight when the undo lands
    assert actions.undo_correction(session).value.action == "merge"
    assert not name_jobs.record(store, run, late, report)  # the job is gone: stop, the file handed over
    assert [(j.kind, j.old, j.new) for j in sidecar_jobs.pending(store)] == [("restore", "ben", "bo")]
    (restored,) = name_jobs.run_pending(store)
    assert sorted(restored.rewritten) == sorted([*first, *late])
    for path in sidecars:
        text = path.read_text()
        assert "ben" not in text and "<rdf:li>bo</rdf:li>" in text and "&lt;bo&gt; naps." in text
    assert store.conn.execute("SELECT COUNT(*) FROM sidecar_jobs").fetchone() == (0,)
