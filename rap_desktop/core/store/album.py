"""Album rows: folders, files (path -> photo by content hash), and one batch of indexed photos.

A file is keyed by (path, size, mtime_ns): unchanged keys are skipped without reading the file. A
photo is keyed by its content hash (photos.sha256 UNIQUE), so a moved, renamed or duplicated file
adds a path, never a second photo. Every batch is written in one transaction: a kill loses at most
the batch in flight, and a rerun finds what was committed.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..regions import USER, Proposal
from . import captions, matches
from . import photos as photo_rows
from .base import Store
from .photos import StoredRegion, chunks

INDEXED = "indexed"
FAILED = "failed"


@dataclass(frozen=True)
class FileRow:
    path: str
    photo_id: int | None
    size: int
    mtime_ns: int
    status: str
    error: str | None


@dataclass(frozen=True)
class SeenFile:
    """A file read this run: indexed (photo_id set once written) or failed (error)."""

    path: str
    size: int
    mtime_ns: int
    sha256: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class NewPhoto:
    """One photo's index results, ready to be written."""

    sha256: str
    path: str
    size: tuple[int, int]
    taken: float | None
    proposals: Sequence[Proposal]
    vectors: np.ndarray
    matches: Sequence[tuple[int, int, float, bool]]  # (position in proposals, concept id, similarity, accepted)
    origins: Sequence[int | None] = ()  # per proposal, the earlier region whose user decisions move to it


@dataclass(frozen=True)
class Earlier:
    """What the user drew or decided on a photo indexed before under another embedding model."""

    regions: list[StoredRegion]  # every earlier region (carry_plan keeps the drawn and decided ones)
    decided: set[int]
    manual: dict[tuple[int, int], str]  # (earlier region, concept) -> confirmed | rejected | reassigned


def add_folder(store: Store, path: str) -> None:
    with store.transaction():
        store.conn.execute("INSERT OR IGNORE INTO album_folders(path, added) VALUES (?, ?)", (path, time.time()))


def folders(store: Store) -> list[str]:
    return [r[0] for r in store.conn.execute("SELECT path FROM album_folders ORDER BY path")]


def _under(column: str) -> str:
    # substr, not LIKE: folder names may hold % or _
    return f"(substr({column}, 1, length(?)) = ?)"


def known_files(store: Store, folder: str) -> dict[str, FileRow]:
    prefix = folder.rstrip("/") + "/"
    rows = store.conn.execute(
        f"SELECT path, photo_id, size, mtime_ns, status, error FROM album_files WHERE {_under('path')}",
        (prefix, prefix),
    )
    return {r[0]: FileRow(*r) for r in rows}


def forget_files(store: Store, paths: Iterable[str]) -> int:
    """Drop the rows of files that are gone from disk (their photos, regions and matches stay)."""
    paths = list(paths)
    if paths:
        with store.transaction():
            store.conn.executemany("DELETE FROM album_files WHERE path = ?", [(p,) for p in paths])
    return len(paths)


def indexed_hashes(store: Store, model: str) -> dict[str, int]:
    """sha256 -> photo id of every photo that has regions embedded by `model`."""
    rows = store.conn.execute(
        "SELECT p.sha256, p.id FROM photos p "
        "WHERE EXISTS (SELECT 1 FROM regions r WHERE r.photo_id = p.id AND r.model = ?)",
        (model,),
    )
    return dict(rows.fetchall())


def earlier(store: Store, sha256: str) -> Earlier | None:
    """The earlier regions of a photo about to be indexed, when the user drew or decided any of them
    (a new embedding model re-indexes every photo; their decisions must carry on)."""
    row = store.conn.execute("SELECT id FROM photos WHERE sha256 = ?", (sha256,)).fetchone()
    if row is None:
        return None
    old = photo_rows.all_regions(store, row[0])
    decided = photo_rows.decided(store, [r.id for r in old])
    if not decided and all(r.source != USER for r in old):
        return None
    return Earlier(old, decided, photo_rows.manual_statuses(store, sorted(decided)))


def _photo_row(store: Store, photo: NewPhoto) -> int:
    cur = store.conn.execute(
        "INSERT INTO photos(sha256, path, width, height, taken, added) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT(sha256) DO UPDATE SET path = excluded.path, taken = COALESCE(excluded.taken, photos.taken) "
        "RETURNING id",
        (photo.sha256, photo.path, photo.size[0], photo.size[1], photo.taken, time.time()),
    )
    return int(cur.fetchone()[0])


def _write_photo(store: Store, photo: NewPhoto, model: str, detector: str) -> int:
    photo_id = _photo_row(store, photo)
    if store.conn.execute("SELECT 1 FROM regions WHERE photo_id = ? AND model = ?", (photo_id, model)).fetchone():
        return photo_id  # another process indexed it meanwhile: keep its rows, add none
    # another model's regions go; what the user drew or decided moves to the new rows
    new_ids = photo_rows.write_regions(store, photo_id, photo.proposals, photo.vectors, model, detector, photo.origins)
    # the indexer's own matches are automatic; a pair the user decided keeps its moved row and status
    # (as `retrieve` does) and only takes this model's similarity
    store.conn.executemany(
        "INSERT INTO matches(region_id, concept_id, similarity, status, accepted) VALUES (?,?,?,'auto',?) "
        "ON CONFLICT(region_id, concept_id) DO UPDATE SET similarity = excluded.similarity, "
        "accepted = excluded.accepted",
        [(new_ids[at], concept, similarity, int(accepted)) for at, concept, similarity, accepted in photo.matches],
    )
    return photo_id


def write_batch(
    store: Store,
    photos: Sequence[NewPhoto],
    files: Sequence[SeenFile],
    model: str,
    detector: str,
    known: dict[str, int],
) -> None:
    """One transaction: the new photos with their regions and matches, then every file's row.
    `known` (sha256 -> photo id) is updated once the transaction has committed."""
    now = time.time()
    added: dict[str, int] = {}
    with store.transaction():
        for photo in photos:
            added[photo.sha256] = _write_photo(store, photo, model, detector)
        rows = []
        for f in files:
            photo_id = added.get(f.sha256) or known.get(f.sha256) if f.sha256 else None
            if f.sha256 and photo_id is None:  # indexed by hash before, under another path
                found = store.conn.execute("SELECT id FROM photos WHERE sha256 = ?", (f.sha256,)).fetchone()
                photo_id = found[0] if found else None
            error = f.error or (None if photo_id is not None else "not indexed")
            rows.append((f.path, photo_id, f.size, f.mtime_ns, FAILED if error else INDEXED, error, now))
            if photo_id is not None and f.sha256 not in added:
                store.conn.execute("UPDATE photos SET path = ? WHERE id = ?", (f.path, photo_id))  # a move
        store.conn.executemany(
            "INSERT INTO album_files(path, photo_id, size, mtime_ns, status, error, seen) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT(path) DO UPDATE SET photo_id = excluded.photo_id, size = excluded.size, "
            "mtime_ns = excluded.mtime_ns, status = excluded.status, error = excluded.error, seen = excluded.seen",
            rows,
        )
    known.update(added)


def failures(store: Store, folder: str | None = None) -> list[tuple[str, str]]:
    """(path, reason) of every file that could not be indexed, under `folder` if given."""
    if folder is None:
        rows = store.conn.execute("SELECT path, error FROM album_files WHERE status = 'failed' ORDER BY path")
    else:
        prefix = folder.rstrip("/") + "/"
        rows = store.conn.execute(
            f"SELECT path, error FROM album_files WHERE status = 'failed' AND {_under('path')} ORDER BY path",
            (prefix, prefix),
        )
    return [(p, e or "unknown") for p, e in rows]


def photo_paths(store: Store, photo_ids: Sequence[int]) -> dict[int, str]:
    """A current path for each photo: an album file if there is one (a deleted file's row is gone
    after the next index run), else the photos row's."""
    out: dict[int, str] = {}
    for chunk in chunks(photo_ids):
        marks = ",".join("?" * len(chunk))
        for pid, path in store.conn.execute(
            f"SELECT photo_id, MIN(path) FROM album_files WHERE status = 'indexed' AND photo_id IN ({marks}) "
            "GROUP BY photo_id",
            chunk,
        ):
            out[pid] = path
        for pid, path in store.conn.execute(f"SELECT id, path FROM photos WHERE id IN ({marks})", chunk):
            if path:
                out.setdefault(pid, path)  # a photo seen by `retrieve` only
    return out


def album_photo_ids(store: Store, folder: str) -> list[int]:
    """Photos with a file under `folder`, in taken order (undated last), then by path."""
    prefix = folder.rstrip("/") + "/"
    rows = store.conn.execute(
        "SELECT f.photo_id, MIN(f.path) AS first, p.taken FROM album_files f JOIN photos p ON p.id = f.photo_id "
        f"WHERE f.status = 'indexed' AND {_under('f.path')} GROUP BY f.photo_id "
        "ORDER BY p.taken IS NULL, p.taken, first",
        (prefix, prefix),
    )
    return [r[0] for r in rows]


def album_photos(store: Store) -> list[tuple[int, str, str, float | None]]:
    """(photo id, first path, sha256, taken) of every indexed album photo once, by taken date
    (undated last), then path."""
    rows = store.conn.execute(
        "SELECT f.photo_id, MIN(f.path) AS first, p.sha256, p.taken FROM album_files f "
        "JOIN photos p ON p.id = f.photo_id WHERE f.status = 'indexed' GROUP BY f.photo_id "
        "ORDER BY p.taken IS NULL, p.taken, first"
    )
    return rows.fetchall()


def file_taken(mtime_ns: int) -> float:
    """A file's modification time as the wall clock where it was written, read as UTC: the same scale
    as EXIF times (which carry no zone), so a photo without EXIF sorts and falls on the right day."""
    return float(calendar.timegm(time.localtime(mtime_ns / 1e9)))


def dated_info(store: Store, photo_ids: Sequence[int]) -> dict[int, tuple[str, float | None]]:
    """photo id -> (sha256, taken) as the timeline dates it: the EXIF time, else the newest album file's
    time (photos indexed before that fallback have none stored), so a search result sits on its day."""
    out = photo_rows.photo_info(store, photo_ids)
    undated = [pid for pid, (_, taken) in out.items() if taken is None]
    for chunk in chunks(undated):
        marks = ",".join("?" * len(chunk))
        for pid, mtime in store.conn.execute(
            f"SELECT photo_id, MAX(mtime_ns) FROM album_files WHERE status = 'indexed' AND photo_id IN ({marks}) "
            "GROUP BY photo_id",
            chunk,
        ):
            out[pid] = (out[pid][0], file_taken(mtime))
    return out


def timeline(store: Store) -> list[tuple[int, str, str, float | None]]:
    """(photo id, first path, sha256, taken) of every indexed album photo once, newest first (undated
    last), then path. `taken` is the EXIF time, else the file's time (photos indexed before that
    fallback have none stored: their file's time is read here)."""
    rows = store.conn.execute(
        "SELECT f.photo_id, MIN(f.path) AS first, p.sha256, p.taken, MAX(f.mtime_ns) FROM album_files f "
        "JOIN photos p ON p.id = f.photo_id WHERE f.status = 'indexed' GROUP BY f.photo_id"
    ).fetchall()
    out = [(pid, path, sha, taken if taken is not None else file_taken(mtime)) for pid, path, sha, taken, mtime in rows]
    # newest first; a tie (a burst in one second) by path, as the files are named
    out.sort(key=lambda r: r[1])
    out.sort(key=lambda r: -r[3] if r[3] is not None else float("inf"))
    return out


def photo_details(store: Store, photo_id: int) -> tuple[list[tuple[str, str, bool]], str | None]:
    """Who and what is in a photo, (name, category, confirmed) once per concept, confirmed and most
    similar first; and its stored caption."""
    seen: dict[str, tuple[str, str, bool]] = {}
    for row in matches.accepted_in_photo(store, photo_id):
        seen.setdefault(row[1], (row[1], row[2], bool(row[9])))
    return list(seen.values()), captions.caption(store, photo_id)
