"""The timeline's listing from the store: every album photo once, newest first, a photo without EXIF
dated by its file's time (when indexed, and when it was indexed before that fallback); and what the
viewer's info panel reads (who and what is in a photo, its caption)."""

from __future__ import annotations

import os
import shutil
import time
from datetime import datetime
from pathlib import Path

from rap_desktop.core.album import rematch
from rap_desktop.core.album.indexer import Indexer
from rap_desktop.core.session import Session
from rap_desktop.core.store import album as album_store
from rap_desktop.core.store import captions
from rap_desktop.core.thumbcache import for_home
from rap_desktop.devtools.synthetic_album import make_album
from rap_desktop.ui.album.album_ops import AlbumQueries, place_in_album


def test_timeline_newest_first_and_a_photo_without_exif_dated_by_its_file(
    session: Session, tmp_path: Path, photos
) -> None:
    album = tmp_path / "Family"
    dated = make_album(album, 4, seed=5, max_side=160)
    scan = album / "scans" / "grandma.png"  # a PNG from a package: no EXIF date
    scan.parent.mkdir()
    shutil.copyfile(photos["chelsea"], scan)
    stamp = time.mktime(datetime(2031, 5, 17, 14, 30).timetuple())  # newer than any EXIF date in the album
    os.utime(scan, (stamp, stamp))
    Indexer(session.retriever(), for_home(session.home)).index([album])

    store = session.store()
    rows = album_store.timeline(store)
    assert rows[0][1] == str(scan)  # by its file's time: the newest
    taken = [r[3] for r in rows]
    assert taken == sorted(taken, reverse=True) and len(rows) == 5
    stored = store.conn.execute("SELECT taken FROM photos WHERE path = ?", (str(scan),)).fetchone()[0]
    # the wall clock where the file was written, read as UTC: the scale EXIF times are on
    assert time.strftime("%Y-%m-%d %H:%M", time.gmtime(stored)) == "2031-05-17 14:30"
    assert sorted(r[1] for r in rows[1:]) == sorted(str(p) for p in dated)

    # a photo indexed before the fallback has no date stored: the listing reads its file's time
    store.conn.execute("UPDATE photos SET taken = NULL WHERE path = ?", (str(scan),))
    assert album_store.timeline(store)[0][1] == str(scan)
    # ... and so does a search result of it (shown on its day, not under "No date")
    pid = rows[0][0]
    assert album_store.dated_info(store, [pid])[pid][1] == rows[0][3]
    listing = AlbumQueries(session).search(None, "a photo", more=10)  # every photo: the cut is not tested here
    assert next(p.taken for p in listing.photos if p.photo_id == pid) == rows[0][3]


def test_details_name_who_is_in_the_photo_its_caption_and_its_folder(session: Session, tmp_path: Path) -> None:
    album = tmp_path / "Family photos"
    files = make_album(album, 3, seed=6, max_side=160)
    Indexer(session.retriever(), for_home(session.home)).index([album])
    store = session.store()
    store.add_concept("mia", files[1], "<mia> is our cat.", "cat")
    rematch.after_change(session)
    queries = AlbumQueries(session)
    listing = queries.search(None, "")
    photo = next(p for p in listing.photos if p.path == str(files[1]))
    captions.save_caption(store, photo.photo_id, "<mia> asleep on the sofa.", "tiny", ["mia"])

    details = queries.details(photo)
    assert ("mia", "cat", False) in details.names
    assert details.caption == "<mia> asleep on the sofa."
    year, month = files[1].parent.parent.name, files[1].parent.name
    assert details.place == f"Family photos ▸ {year} ▸ {month}"
    assert place_in_album("/elsewhere/x.jpg", [str(album)]) == "/elsewhere"
    # the listing's sections are the timeline's days, newest first
    assert listing.sections is not None and sum(s.count for s in listing.sections) == 3
    assert [s.first for s in listing.sections] == sorted(s.first for s in listing.sections)
