"""Album captions in batches (caption_folder, the CLI's loop) on an indexed album of package-style
photos with the tiny generator: the same captions as one photo per call, a cancel inside a batch
keeping exactly what was saved, and a rerun going on from there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rap_desktop.core.album.caption import caption_folder
from rap_desktop.core.cancel import CancelToken
from rap_desktop.core.models.generator import GenerationOptions
from rap_desktop.core.session import Session
from rap_desktop.devtools.synthetic_album import make_album

from .album_setup import index_with_concepts
from .test_album_cli import cli as _cli

cli = _cli  # the fixture, shared

N = 5
OPTIONS = GenerationOptions(max_new_tokens=6)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, tiny_config: Path) -> Path:
    """An indexed album with <bo> registered from its first photo (so some prompts carry a concept)."""
    root = tmp_path_factory.mktemp("batch")
    index_with_concepts(root, tiny_config, N, 7, [("bo", 0, "<bo> is our dog.", "dog")])
    return root


@pytest.fixture
def album(indexed: Path, tiny_config: Path, tmp_path: Path):
    session = Session.open(shutil.copytree(indexed / "home", tmp_path / "home"), tiny_config)
    yield session, str(indexed / "album")
    session.close()


def _captions(session: Session) -> dict[int, str]:
    return dict(session.store().conn.execute("SELECT photo_id, text FROM album_captions").fetchall())


def test_batched_captions_equal_one_per_call(album) -> None:
    session, folder = album
    store = session.store()
    one = caption_folder(store, session.assistant, folder, options=OPTIONS, batch_size=1)
    single = _captions(session)
    assert (one.captioned, len(single)) == (N, N)
    concepts = store.conn.execute("SELECT concepts FROM album_captions").fetchall()
    assert any("bo" in c for (c,) in concepts)  # a prompt with a concept image: rows of different lengths
    seen: list[int] = []
    report = caption_folder(
        store,
        session.assistant,
        folder,
        force=True,
        options=OPTIONS,
        batch_size=3,
        progress=lambda p: seen.append(p.done),
    )
    assert (report.captioned, report.failed, report.cancelled) == (N, (), False)
    assert _captions(session) == single
    assert seen == list(range(1, N + 1))  # progress photo by photo, in order


def test_cancel_inside_a_batch_keeps_what_was_saved_and_a_rerun_goes_on(album) -> None:
    session, folder = album
    store = session.store()
    token = CancelToken()

    def cancel_after_two(progress) -> None:
        if progress.done == 2:
            token.cancel()  # the batch of 3 is generated; its third caption is not written

    report = caption_folder(
        store, session.assistant, folder, options=OPTIONS, batch_size=3, progress=cancel_after_two, cancel=token
    )
    assert report.cancelled and report.captioned == 2 and len(_captions(session)) == 2
    again = caption_folder(store, session.assistant, folder, options=OPTIONS, batch_size=3)
    assert (again.captioned, again.skipped, again.cancelled) == (N - 2, 2, False)
    assert len(_captions(session)) == N


def test_cli_batch_flag(cli, tmp_path: Path) -> None:
    album = tmp_path / "album"
    make_album(album, 2, seed=3, max_side=120)
    code, _, err = cli("caption-album", str(album), "--batch", "0")
    assert code == 2 and "--batch must be at least 1" in err
    code, doc, _ = cli("caption-album", str(album), "--batch", "2", "--max-new-tokens", "3", "--json")
    assert code == 0 and doc["captioned"] == 2
