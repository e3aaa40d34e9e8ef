"""Set-up shared by the album caption tests (test_renames, test_album_caption_batch): an indexed album
with concepts registered from its own photos."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rap_desktop.core.album import rematch
from rap_desktop.core.album.indexer import Indexer
from rap_desktop.core.session import Session
from rap_desktop.core.thumbcache import for_home
from rap_desktop.devtools.synthetic_album import make_album


def index_with_concepts(
    root: Path, config: Path, count: int, seed: int, concepts: Sequence[tuple[str, int, str, str]]
) -> None:
    """`count` generated photos in root/album, indexed into the home root/home; each concept (name,
    which photo, description, category) registered from that photo, then matched."""
    files = make_album(root / "album", count, seed=seed, max_side=160)
    session = Session.open(root / "home", config)
    try:
        Indexer(session.retriever(), for_home(session.home)).index([root / "album"])
        for name, photo, info, category in concepts:
            session.store().add_concept(name, files[photo], info, category)
        rematch.after_change(session)
    finally:
        session.close()
