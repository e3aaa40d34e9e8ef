"""Which album folders an indexing run has not finished (`album_unfinished`), so the next start can
resume them by itself and say so.

Stored, not derived: deriving it would mean listing every album folder at each start (a full walk
and a stat per file; seconds for a big album, minutes on a network drive) before the app could say
anything, and a folder whose new files arrived while the app was closed would look the same as one
whose run was cut short. A row is written when a run starts with photos to index in the folder,
its count of done photos after each batch, and the row goes when the run has been through every
file of the folder. A kill, a cancel or a closed window leaves the row: that is what "unfinished"
means. The rows are bookkeeping only: the photos themselves are skipped or indexed by the
indexer's own (path, size, mtime) check, so a stale row costs one quick rescan, never a photo.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol


class Store(Protocol):
    """What these functions use of `base.Store` (schema.py reads TABLES here: no import of base)."""

    conn: sqlite3.Connection

    def transaction(self) -> AbstractContextManager[Any]: ...

TABLES = """
CREATE TABLE IF NOT EXISTS album_unfinished (
    folder TEXT PRIMARY KEY,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    started REAL NOT NULL,
    updated REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Unfinished:
    folder: str
    total: int  # photos the run had to index in the folder
    done: int  # of those, done when it stopped
    started: float


def begin(store: Store, todo: Mapping[str, int]) -> None:
    """A run starts: folders with photos to index are unfinished until `finish`; the others are not."""
    now = time.time()
    with store.transaction():
        for folder, total in todo.items():
            if total:
                store.conn.execute(
                    "INSERT INTO album_unfinished(folder, total, done, started, updated) VALUES (?, ?, 0, ?, ?) "
                    "ON CONFLICT(folder) DO UPDATE SET total = excluded.total, done = 0, updated = excluded.updated",
                    (folder, total, now, now),
                )
            else:
                store.conn.execute("DELETE FROM album_unfinished WHERE folder = ?", (folder,))


def advance(store: Store, done: Mapping[str, int]) -> None:
    with store.transaction():
        store.conn.executemany(
            "UPDATE album_unfinished SET done = ?, updated = ? WHERE folder = ?",
            [(count, time.time(), folder) for folder, count in done.items()],
        )


def finish(store: Store, folders: list[str]) -> None:
    """Every file of these folders has been through the indexer (indexed, known, or unreadable)."""
    if folders:
        with store.transaction():
            store.conn.executemany("DELETE FROM album_unfinished WHERE folder = ?", [(f,) for f in folders])


def unfinished(store: Store) -> list[Unfinished]:
    rows = store.conn.execute("SELECT folder, total, done, started FROM album_unfinished ORDER BY started, folder")
    return [Unfinished(*row) for row in rows]
