"""The concept store: SQLite (source of truth) + content-addressed images + FAISS caches.

Crash safety, in order of every change: the image file's name goes to this store's journal (fsync),
the file is written (temp, fsync, rename) inside the write transaction, then the rows that name it,
then COMMIT. A crash before COMMIT leaves at most a journaled file no row names, removed on the next
open. Files are deleted only after the rows naming them are gone, in a write transaction of their
own, so a second process never loses a file it just referenced. Nothing under images/ that no
journal lists is ever deleted: the store is not taken as proof that a file is the app's to remove.

A data folder that cannot be written (read-only medium, full disk) opens read-only: reading,
checking and exporting work; every change is refused with one plain message.

Several processes may open one data folder: SQLite (WAL) serialises writers, and every process
notices the others' changes through the store generation before it searches.
"""
from __future__ import annotations

import contextlib
import errno
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import numpy as np
import sqlite_utils

from .. import journal
from ..errors import RapError
from ..fsutil import TEMP_HEX, TEMP_MARK, fsync_dir, temp_files, write_atomic
from ..images import LoadedImage, sha256_file
from ..models.embedder import ImageEmbedder
from ..vector_index import VectorIndex
from .records import Pending, StoreDamageError
from .schema import connect, connect_read_only, migrate, schema_version

CONTENT_NAME = re.compile(r"[0-9a-f]{64}\.[a-z0-9]{1,10}")  # "<sha256>.<ext>": the only names the store writes
_INDEX_TEMP = re.compile(rf"[0-9a-f]{{24}}\.(?:faiss|json){re.escape(TEMP_MARK)}[0-9a-f]{{{TEMP_HEX}}}")
# Errors that mean "cannot write here", not "damaged": the store then opens read-only.
_CANNOT_WRITE = ("readonly", "read-only", "unable to open", "disk i/o error", "disk is full", "cannot open")
CANNOT_OPEN = (
    "nothing was changed and the photos under images/ are kept; put back store.sqlite3 from a copy, or try "
    "sqlite3 store.sqlite3 .recover, or restore a backup into a new folder (rap-desktop --home NEW import BACKUP.zip)"
)
_CANNOT_WRITE_OS = (errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EACCES, errno.EPERM)


class StoreBase:
    """One data folder's connection, write transaction and content-named files (the rows of each table
    family live in their own modules; `base.Store` adds the concept and vector methods)."""

    def __init__(self, home: Path, embedder: ImageEmbedder | None = None) -> None:
        self.home = Path(home)
        self.embedder = embedder
        self.images_dir = self.home / "images"
        self.index_dir = self.home / "cache" / "index"
        self.read_only = ""  # why this store could only be opened for reading; "" when it is writable
        self._journal = journal.Journal(self.home / journal.FOLDER)
        if not _has_content(self.home / "store.sqlite3"):
            self._refuse_lost_store(new=True)
        self.conn = self._open()
        self.db = sqlite_utils.Database(self.conn)
        self._indexes: dict[str, VectorIndex] = {}
        self._dirty: set[str] = set()
        self._pending: Pending | None = None
        try:
            with contextlib.suppress(sqlite3.DatabaseError):  # a damaged store: remove nothing, refuse nothing
                if not self.read_only:
                    self.clean_orphans()
                self._refuse_lost_store(new=False)
        except BaseException:
            self.conn.close()
            raise

    def _open(self) -> sqlite3.Connection:
        path = str(self.home / "store.sqlite3")
        conn = None
        try:
            for folder in (self.images_dir, self.index_dir):
                folder.mkdir(parents=True, exist_ok=True)
            conn = connect(path)
            migrate(conn)
            return conn
        except (OSError, sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            if conn is not None:
                conn.close()
            reason = _cannot_write(exc)
            if reason is None:
                said = "SQLite's message is unreadable" if isinstance(exc, UnicodeDecodeError) else exc
                raise RapError(f"the store in {self.home} cannot be opened ({said}); {CANNOT_OPEN}") from None
        try:  # writing is impossible here: read what there is
            conn, note = connect_read_only(path)
            schema_version(conn)
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            raise RapError(f"the store in {self.home} cannot be opened, not even for reading: {exc}") from None
        self.read_only = f"the data folder {self.home} cannot be written ({reason}); opened read-only"
        self.read_only += f"; {note}" if note else ""
        return conn

    def _refuse_lost_store(self, new: bool) -> None:
        """Content-named photos beside a new or empty store mean the store was lost, not the photos:
        never start afresh over them (that would also make them look like the app's leftovers)."""
        if not new:
            if self.conn.execute("SELECT 1 FROM exemplars LIMIT 1").fetchone():
                return  # the usual case, decided without waiting for a writer
            with self._read_lock():  # no writer half-way: its files are named by rows or by its journal
                if self.conn.execute("SELECT 1 FROM exemplars LIMIT 1").fetchone():
                    return
                found = self._content_files() - journal.listed(self.home / journal.FOLDER)
        else:
            found = self._content_files()
        if found:
            state = "is missing or empty" if new else "names no photo"
            raise RapError(
                f"{self.home}: store.sqlite3 {state} but images/ holds {len(found)} photo file(s) it once named; "
                "nothing was changed. Put back store.sqlite3 from a copy, or restore a backup into a new folder "
                "(rap-desktop --home NEW_FOLDER import BACKUP.zip), or move images/ away to start afresh"
            )

    def _content_files(self) -> set[str]:
        """Names under images/ that look like the store's own ("<sha256>.<ext>" in its two-letter folder)."""
        found: set[str] = set()
        with contextlib.suppress(OSError):
            for folder in self.images_dir.iterdir():
                if len(folder.name) == 2 and folder.is_dir():
                    found.update(p.name for p in folder.iterdir() if _is_content_name(p.name, folder.name))
        return found

    @contextlib.contextmanager
    def _read_lock(self) -> Iterator[None]:
        """The write lock when writable (no writer is half-way), else a plain read snapshot."""
        if self.read_only:
            self.conn.execute("BEGIN")
            try:
                yield
            finally:
                self.conn.execute("COMMIT")
        else:
            with self._write_quiet():
                yield

    # --- transactions --------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Pending]:
        """One write transaction (BEGIN IMMEDIATE .. COMMIT) with its files journaled and its index edits
        applied once committed; any error rolls everything back and says nothing was changed."""
        if self._pending is not None:
            raise RuntimeError("nested write transaction")
        if self.read_only:
            raise RapError(f"the data folder {self.home} is open read-only (see the warning); nothing was changed")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise RapError(f"the data folder {self.home} is busy or read-only ({exc})") from None
        pending = self._pending = Pending()
        try:
            before = self.generation()
            yield pending
            changed = bool(pending.add or pending.remove)  # the generation versions the vectors only
            if changed:
                self.conn.execute("UPDATE meta SET value = ? WHERE key = 'generation'", (str(before + 1),))
            self._journal.record(sorted(pending.files))  # a crash after COMMIT still removes them
            self.conn.execute("COMMIT")
        except BaseException as exc:
            self._pending = None
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            with contextlib.suppress(sqlite3.Error, OSError):
                self._delete_unreferenced(pending.created)  # written for nothing: no row names them
            self._journal.clear()
            if isinstance(exc, (OSError, sqlite3.OperationalError)):
                # disk full, quota, read-only medium: nothing was committed, say so plainly
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise RapError(
                    f"could not write to the data folder {self.home}: {reason}; nothing was changed"
                ) from exc
            raise
        self._pending = None
        if changed:
            self._apply(pending, before)
        if pending.files:
            self._delete_unreferenced(pending.files)
        self._journal.clear()

    def pending(self) -> Pending:
        """The open transaction's index and file edits (to queue an exemplar's removal)."""
        if self._pending is None:
            raise RuntimeError("no open write transaction")
        return self._pending

    def _apply(self, pending: Pending, before: int) -> None:
        # An index that was current before our transaction is current after it plus our edits;
        # one that was not (another process wrote meanwhile) is dropped and reloaded on next use.
        for model, index in list(self._indexes.items()):
            if index.generation != before:
                del self._indexes[model]
                continue
            index.remove(np.array(pending.remove, np.int64))
            adds = [(i, v) for m, i, v in pending.add if m == model]
            if adds:
                ids, vectors = np.array([i for i, _ in adds], np.int64), np.stack([v for _, v in adds])
                if index.count == 0 and index.dim != vectors.shape[1]:  # first vectors fix the width
                    index = self._indexes[model] = VectorIndex.build(model, vectors.shape[1], before, ids, vectors)
                else:
                    index.add(ids, vectors)
            index.generation = before + 1
            self._dirty.add(model)

    def generation(self) -> int:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        try:
            return int(row[0])
        except (TypeError, ValueError):  # no row, or a value edited by hand
            shown = repr(row[0])[:40] if row else "missing"
            raise RapError(f"the store in {self.home} is damaged: its generation is {shown}, not a number") from None

    # --- files ---------------------------------------------------------------------------------

    def image_path(self, image: str) -> Path:
        """Where a stored photo lives. A name the store never makes (a damaged or edited row, e.g.
        '../../x.txt') is refused: no path read from the store leads outside its images folder."""
        if not isinstance(image, str) or not CONTENT_NAME.fullmatch(image):
            raise StoreDamageError(
                f"the store names the photo file {image!r}, which is not a file of its images folder; "
                "refused (see rap-desktop check)"
            )
        return self.images_dir / image[:2] / image

    def _removable(self, image: str) -> Path | None:
        """The path of an app-made image file that may be deleted, or None (not ours, or it leads elsewhere)."""
        try:
            path = self.image_path(image)
            inside = path.parent.resolve().is_relative_to(self.images_dir.resolve())
        except (StoreDamageError, OSError):
            return None
        return path if inside else None

    def store_file(self, loaded: LoadedImage) -> str:
        """Inside `transaction()`: the image's content-named file (journaled, written atomically unless
        already there); returns its name. Call it before writing the row that names the file."""
        assert self._pending is not None
        name = f"{loaded.sha256}.{loaded.extension}"
        path = self.image_path(name)
        if not (path.is_file() and path.stat().st_size == len(loaded.data)):
            self._journal.record([name])  # journaled before it exists: a crash cannot orphan it unnoticed
            self._pending.created.add(name)
            write_atomic(path, loaded.data)
        return name

    def _referenced(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT image FROM exemplars")}

    def _delete_unreferenced(self, candidates: set[str]) -> None:
        if not candidates:
            return
        with self._write_quiet():
            referenced = self._referenced()
            for name in candidates - referenced:
                path = self._removable(name)
                if path is not None:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()

    @contextlib.contextmanager
    def _write_quiet(self) -> Iterator[None]:
        """A write lock that changes no rows (so no generation bump)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    def clean_orphans(self) -> list[Path]:
        """Remove what a writer that died left behind: the files its journal lists that no row names
        (and whose content still matches their name), with their temp files. Nothing else."""
        removed: list[Path] = []
        with journal.abandoned(self.home / journal.FOLDER) as found:
            if found:
                with self._write_quiet():
                    referenced = self._referenced()
                    for name in {n for _, listed in found for n in listed} - referenced:
                        removed += self._remove_leftover(name)
        for path in self.index_dir.iterdir():
            if _INDEX_TEMP.fullmatch(path.name):
                path.unlink(missing_ok=True)
        if removed:
            fsync_dir(self.images_dir)
        return removed

    def _remove_leftover(self, name: str) -> list[Path]:
        path = self._removable(name)
        if path is None:
            return []
        gone = temp_files(path)
        with contextlib.suppress(OSError):
            if path.is_file() and sha256_file(path) == name.split(".", 1)[0]:
                gone.append(path)
        for item in gone:
            item.unlink(missing_ok=True)
        return gone

    # --- health --------------------------------------------------------------------------------

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.flush()
        self.conn.close()
        self._journal.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _cannot_write(exc: BaseException) -> str | None:
    """Why the data folder cannot be written, when that is what `exc` says; None for anything else."""
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) if exc.errno in _CANNOT_WRITE_OS else None
    if isinstance(exc, sqlite3.OperationalError) and any(m in str(exc).lower() for m in _CANNOT_WRITE):
        return f"the disk is read-only or full; SQLite says: {exc}"  # SQLite's words read like damage
    return None


def _is_content_name(name: str, folder: str) -> bool:
    return bool(CONTENT_NAME.fullmatch(name)) and name[:2] == folder


def _has_content(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False
