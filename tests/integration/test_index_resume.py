"""What counts as unfinished is stored: a run cut short leaves its folders in `album_unfinished`
(with how far it got), a finished one clears them, and `rap-desktop index --resume` finishes them."""

from __future__ import annotations

from pathlib import Path

from rap_desktop.core.album.indexer import Indexer
from rap_desktop.core.session import Session
from rap_desktop.core.store import index_state
from rap_desktop.core.thumbcache import for_home
from rap_desktop.devtools.synthetic_album import make_album

from .test_album_cli import cli  # noqa: F401  (fixture)


def test_a_run_cut_short_is_remembered_and_resume_finishes_it(cli, tmp_path: Path, home: Path, tiny_config) -> None:  # noqa: F811
    first, second = tmp_path / "Pictures", tmp_path / "Phone"
    make_album(first, 5, seed=1, max_side=120)
    make_album(second, 3, seed=2, max_side=120)
    session = Session.open(home, tiny_config)
    try:
        run = Indexer(session.retriever(), for_home(home), batch_size=2, workers=0).start([first, second])
        assert {u.folder: (u.total, u.done) for u in index_state.unfinished(session.store())} == {
            str(first.resolve()): (5, 0),
            str(second.resolve()): (3, 0),
        }
        run.step()
        run.step()  # 4 of Pictures' 5 photos
        run.close()  # the window closed: the batch in flight landed, the rest waits
        left = {u.folder: (u.total, u.done) for u in index_state.unfinished(session.store())}
        assert left == {str(first.resolve()): (5, 4), str(second.resolve()): (3, 0)}
    finally:
        session.close()

    code, doc, err = cli("index", "--resume", "--json")  # a new process: the rows were stored
    assert code == 0, err
    assert set(doc["folders"]) == {str(first.resolve()), str(second.resolve())}
    assert (doc["indexed"], doc["unchanged"], doc["unfinished"]) == (4, 4, [])
    code, doc, _ = cli("index", "--resume", "--json")
    assert code == 0 and doc["folders"] == [] and "no unfinished" in cli("index", "--resume")[1]
    code, _, err = cli("index")
    assert code == 2 and "--resume" in err


def test_a_finished_folder_leaves_nothing_and_one_with_nothing_new_is_never_unfinished(
    session: Session, tmp_path: Path
) -> None:
    folder = tmp_path / "album"
    make_album(folder, 3, seed=4, max_side=120)
    indexer = Indexer(session.retriever(), for_home(session.home), batch_size=2, workers=0)
    indexer.index([folder])
    assert index_state.unfinished(session.store()) == []
    run = indexer.start([folder])  # nothing new: not unfinished even if this run is never stepped
    run.close()
    assert index_state.unfinished(session.store()) == []
