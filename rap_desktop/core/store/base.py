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
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sqlite_utils

from .. import journal, names
from ..errors import ConflictError, ModelMissingError, NotFoundError, RapError
from ..fsutil import TEMP_HEX, TEMP_MARK, fsync_dir, temp_files, write_atomic
from ..images import LoadedImage, crop_box, load_image, sha256_file
from ..models.embedder import ImageEmbedder
from ..vector_index import VectorIndex
from .schema import connect, connect_read_only, migrate, schema_version

Box = tuple[float, float, float, float]
CONTENT_NAME = re.compile(r"[0-9a-f]{64}\.[a-z0-9]{1,10}")  # "<sha256>.<ext>": the only names the store writes
_INDEX_TEMP = re.compile(rf"[0-9a-f]{{24}}\.(?:faiss|json){re.escape(TEMP_MARK)}[0-9a-f]{{{TEMP_HEX}}}")
# Errors that mean "cannot write here", not "damaged": the store then opens read-only.
_CANNOT_WRITE = ("readonly", "read-only", "unable to open", "disk i/o error", "disk is full", "cannot open")
CANNOT_OPEN = (
    "nothing was changed and the photos under images/ are kept; put back store.sqlite3 from a copy, or try "
    "sqlite3 store.sqlite3 .recover, or restore a backup into a new folder (rap-desktop --home NEW import BACKUP.zip)"
)
_CANNOT_WRITE_OS = (errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EACCES, errno.EPERM)


@dataclass(frozen=True)
class Concept:
    id: int
    name: str
    info: str
    category: str
    created: float
    updated: float
    exemplar_count: int = 0


@dataclass(frozen=True)
class Exemplar:
    id: int
    concept_id: int
    image: str  # file name under the store's image folder ("<sha256>.<ext>")
    width: int
    height: int
    box: Box | None
    source: str
    created: float


@dataclass(frozen=True)
class Hit:
    exemplar_id: int
    concept_id: int
    concept: str
    similarity: float


@dataclass(frozen=True)
class AddResult:
    concept: Concept
    exemplar: Exemplar
    embedded: bool  # False when the embedder's weights are missing: embedded later, on first use
    warning: str = ""


@dataclass(frozen=True)
class ImportReport:
    added: list[AddResult]
    skipped: list[str]  # names left out because they already existed (skip_existing)
    left_out: list[str] = field(default_factory=list)  # damaged parts of the source, one line each
    notes: list[str] = field(default_factory=list)  # what the import repaired (e.g. embeddings computed again)


@dataclass(frozen=True)
class NewExemplar:
    image: LoadedImage
    box: Box | None = None
    source: str = "registered"
    vectors: Mapping[str, np.ndarray] = field(default_factory=dict)  # precomputed, by model id
    created: float | None = None


@dataclass(frozen=True)
class NewConcept:
    name: str
    info: str = ""
    category: str = ""
    exemplars: tuple[NewExemplar, ...] = ()
    created: float | None = None


@dataclass
class _Pending:
    """Index edits of the open transaction, applied only once it has committed."""

    add: list[tuple[str, int, np.ndarray]] = field(default_factory=list)
    remove: list[int] = field(default_factory=list)
    files: set[str] = field(default_factory=set)  # images that may have lost their last row
    created: set[str] = field(default_factory=set)  # image files written for this transaction


class StoreDamageError(RapError):
    """A row of the store that cannot be right (a file name that is not one the store makes)."""


class Store:
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
        self._pending: _Pending | None = None
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
    def transaction(self) -> Iterator[_Pending]:
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
        pending = self._pending = _Pending()
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

    def pending(self) -> _Pending:
        """The open transaction's index and file edits (to queue an exemplar's removal)."""
        if self._pending is None:
            raise RuntimeError("no open write transaction")
        return self._pending

    def _apply(self, pending: _Pending, before: int) -> None:
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

    # --- concepts ------------------------------------------------------------------------------

    def _concept_row(self, name: str) -> dict:
        key = names.name_key(name)
        rows = list(self.db.query("SELECT * FROM concepts WHERE name_key = ?", [key]))
        if not rows:
            raise NotFoundError(f"no concept named {names.tag(names.clean_name(name))}")
        return rows[0]

    def _concept(self, row: dict) -> Concept:
        count = self.conn.execute("SELECT COUNT(*) FROM exemplars WHERE concept_id = ?", (row["id"],)).fetchone()[0]
        return Concept(row["id"], row["name"], row["info"], row["category"], row["created"], row["updated"], count)

    def get_concept(self, name: str) -> Concept:
        return self._concept(self._concept_row(name))

    def find_concept(self, name: str) -> Concept | None:
        try:
            return self.get_concept(name)
        except NotFoundError:
            return None

    def list_concepts(self) -> list[Concept]:
        sql = (
            "SELECT c.*, COUNT(e.id) AS n FROM concepts c LEFT JOIN exemplars e ON e.concept_id = c.id "
            "GROUP BY c.id ORDER BY c.name_key"
        )
        return [
            Concept(r["id"], r["name"], r["info"], r["category"], r["created"], r["updated"], r["n"])
            for r in self.db.query(sql)
        ]

    def concept_names(self, ids: Sequence[int]) -> dict[int, str]:
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(f"SELECT id, name FROM concepts WHERE id IN ({marks})", list(ids))
        return dict(rows.fetchall())

    def _embed(self, items: Sequence[NewExemplar]) -> tuple[list[np.ndarray | None], str]:
        """Vectors from the current embedder for each exemplar (precomputed ones reused)."""
        if self.embedder is None:
            return [None] * len(items), "no image embedder configured; not searchable until one is"
        model = self.embedder.model_id
        todo = [i for i, item in enumerate(items) if model not in item.vectors]
        vectors: list[np.ndarray | None] = [item.vectors.get(model) for item in items]
        if todo:
            try:
                fresh = self.embedder.embed_images([crop_box(items[i].image.image, items[i].box) for i in todo])
            except ModelMissingError as exc:
                return vectors, f"stored without an embedding ({exc}); it is embedded when the model is present"
            for i, vector in zip(todo, fresh, strict=True):
                vectors[i] = vector
        return vectors, ""

    def add_concept(
        self,
        name: str,
        image: LoadedImage | str | os.PathLike,
        info: str = "",
        category: str = "",
        box: Box | None = None,
        source: str = "registered",
    ) -> AddResult:
        loaded = image if isinstance(image, LoadedImage) else load_image(image)
        new = NewConcept(name, info, category, (NewExemplar(loaded, box, source),))
        return self.add_many([new])[0]

    def add_many(self, concepts: Sequence[NewConcept], skip_existing: bool = False) -> list[AddResult]:
        """Add concepts with their exemplars in ONE transaction: all of them land, or none.

        With skip_existing, concepts whose name is taken are left out (and not in the result).
        """
        shown = [names.clean_name(c.name) for c in concepts]
        categories = [names.clean_category(c.category) for c in concepts]
        keys = [names.lookalike_key(n) for n in shown]
        if len(set(keys)) != len(keys):
            twice = sorted({n for n, k in zip(shown, keys, strict=True) if keys.count(k) > 1})
            raise ConflictError(f"the same name is given twice: {', '.join(map(names.tag, twice))}")
        flat = [item for c in concepts for item in c.exemplars]
        for item in flat:
            crop_box(item.image.image, item.box)  # a bad box is refused before anything is written
        vectors, warning = self._embed(flat)
        results: list[AddResult] = []
        now = time.time()
        with self.transaction():
            position = 0
            for concept, name, category in zip(concepts, shown, categories, strict=True):
                exists = self.conn.execute("SELECT 1 FROM concepts WHERE name_key=?", (name.casefold(),)).fetchone()
                chunk = vectors[position : position + len(concept.exemplars)]
                position += len(concept.exemplars)
                if (exists or self.lookalike(name)) and skip_existing:
                    continue
                if exists:
                    raise ConflictError(f"a concept named {names.tag(name)} already exists")
                self.refuse_lookalike(name)
                created = concept.created or now
                cur = self.conn.execute(
                    "INSERT INTO concepts(name, name_key, info, category, created, updated) VALUES (?,?,?,?,?,?)",
                    (name, name.casefold(), concept.info.strip(), category, created, now),
                )
                made = [
                    self.insert_exemplar(cur.lastrowid, item, vector, now)
                    for item, vector in zip(concept.exemplars, chunk, strict=True)
                ]
                row = Concept(cur.lastrowid, name, concept.info.strip(), category, created, now, len(made))
                results.append(AddResult(row, made[0], all(v is not None for v in chunk), warning))
        return results

    def lookalike(self, name: str, own_id: int | None = None) -> str | None:
        """An existing concept's name that `name` would be mistaken for (full-width `ｂｏ` for `bo`)."""
        rows = self.conn.execute("SELECT name FROM concepts WHERE id IS NOT ?", (own_id,))
        return names.lookalike(name, [r[0] for r in rows])

    def refuse_lookalike(self, name: str, own_id: int | None = None) -> None:
        other = self.lookalike(name, own_id)
        if other is not None:
            raise ConflictError(f"concept name {names.tag(name)} looks the same as the existing {names.tag(other)}")

    def import_concepts(self, concepts: Sequence[NewConcept], skip_existing: bool = False) -> ImportReport:
        added = self.add_many(concepts, skip_existing=skip_existing)
        done = {r.concept.name.casefold() for r in added}
        return ImportReport(added, [c.name for c in concepts if names.name_key(c.name) not in done])

    def add_exemplar(
        self,
        name: str,
        image: LoadedImage | str | os.PathLike,
        box: Box | None = None,
        source: str = "registered",
    ) -> AddResult:
        concept = self.get_concept(name)
        loaded = image if isinstance(image, LoadedImage) else load_image(image)
        item = NewExemplar(loaded, box, source)
        crop_box(loaded.image, box)
        (vector,), warning = self._embed([item])
        with self.transaction():
            if not self.conn.execute("SELECT 1 FROM concepts WHERE id = ?", (concept.id,)).fetchone():
                raise NotFoundError(f"concept {names.tag(concept.name)} was removed meanwhile")
            exemplar = self.insert_exemplar(concept.id, item, vector, time.time())
        return AddResult(self.get_concept(concept.name), exemplar, vector is not None, warning)

    def insert_exemplar(self, concept_id: int, item: NewExemplar, vector, now: float) -> Exemplar:
        """Inside `transaction()`: the exemplar's file, its row and its vectors (`vector` from the
        current embedder, besides the item's own precomputed ones)."""
        assert self._pending is not None
        image = self.store_file(item.image)  # the file lands before the row that names it
        width, height = item.image.size
        box = tuple(float(v) for v in item.box) if item.box else None
        cur = self.conn.execute(
            "INSERT INTO exemplars(concept_id, image, width, height, box, source, created) VALUES (?,?,?,?,?,?,?)",
            (concept_id, image, width, height, json.dumps(box) if box else None, item.source, item.created or now),
        )
        exemplar_id = int(cur.lastrowid)
        stored = dict(item.vectors)
        if vector is not None:
            stored[self.embedder.model_id] = vector  # type: ignore[union-attr]
        for model, row in stored.items():
            self.insert_embedding(exemplar_id, model, row)
        return Exemplar(exemplar_id, concept_id, image, width, height, box, item.source, item.created or now)

    def insert_embedding(self, exemplar_id: int, model: str, vector: np.ndarray) -> None:
        """Inside `transaction()`: one exemplar's vector for `model`, added to the index once committed."""
        assert self._pending is not None
        vector = np.asarray(vector, np.float32)
        self.conn.execute(
            "INSERT OR REPLACE INTO embeddings(exemplar_id, model, dim, vector) VALUES (?,?,?,?)",
            (exemplar_id, model, len(vector), vector.tobytes()),
        )
        self._pending.add.append((model, exemplar_id, vector))

    def edit_concept(
        self, name: str, rename: str | None = None, info: str | None = None, category: str | None = None
    ) -> Concept:
        with self.transaction():
            row = self._concept_row(name)
            new_name = names.clean_name(rename) if rename is not None else row["name"]
            new_category = names.clean_category(category) if category is not None else row["category"]
            if rename is not None:
                self.refuse_lookalike(new_name, row["id"])
            new_info = info.strip() if info is not None else row["info"]
            if rename is not None and new_name != row["name"]:
                # the reference's info texts name the concept as <name>; keep them in step
                new_info = _retag(new_info, row["name"], new_name)
            try:
                self.conn.execute(
                    "UPDATE concepts SET name=?, name_key=?, info=?, category=?, updated=? WHERE id=?",
                    (
                        new_name,
                        new_name.casefold(),
                        new_info,
                        new_category,
                        time.time(),
                        row["id"],
                    ),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"a concept named {names.tag(new_name)} already exists") from None
        return self.get_concept(new_name)

    def remove_concept(self, name: str) -> Concept:
        with self.transaction() as pending:
            concept = self.get_concept(name)
            rows = self.conn.execute("SELECT id, image FROM exemplars WHERE concept_id = ?", (concept.id,))
            for exemplar_id, image in rows.fetchall():
                pending.remove.append(exemplar_id)
                pending.files.add(image)
            self.conn.execute("DELETE FROM concepts WHERE id = ?", (concept.id,))
        return concept

    def remove_exemplar(self, exemplar_id: int) -> None:
        with self.transaction() as pending:
            row = self.conn.execute("SELECT image FROM exemplars WHERE id = ?", (exemplar_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"no exemplar {exemplar_id}")
            pending.remove.append(exemplar_id)
            pending.files.add(row[0])
            self.conn.execute("DELETE FROM exemplars WHERE id = ?", (exemplar_id,))

    def exemplars(self, name: str | None = None) -> list[Exemplar]:
        sql, args = "SELECT * FROM exemplars", []
        if name is not None:
            sql, args = sql + " WHERE concept_id = ?", [self.get_concept(name).id]
        return [
            Exemplar(
                r["id"],
                r["concept_id"],
                r["image"],
                r["width"],
                r["height"],
                tuple(json.loads(r["box"])) if r["box"] else None,
                r["source"],
                r["created"],
            )
            for r in self.db.query(sql + " ORDER BY id", args)
        ]

    # --- search --------------------------------------------------------------------------------

    def embed_missing(self, progress=None) -> int:
        """Embed every exemplar that has no vector from the current embedder (new model, or added
        while the model was missing). Returns how many were embedded."""
        if self.embedder is None:
            return 0
        model = self.embedder.model_id
        todo = self.conn.execute(
            "SELECT e.id, e.image, e.box FROM exemplars e WHERE NOT EXISTS "
            "(SELECT 1 FROM embeddings m WHERE m.exemplar_id = e.id AND m.model = ?) ORDER BY e.id",
            (model,),
        ).fetchall()
        for done, (exemplar_id, image, box) in enumerate(todo, 1):
            loaded = load_image(self.image_path(image))
            vector = self.embedder.embed_images([crop_box(loaded.image, tuple(json.loads(box)) if box else None)])[0]
            with self.transaction():
                if self.conn.execute("SELECT 1 FROM exemplars WHERE id = ?", (exemplar_id,)).fetchone():
                    self.insert_embedding(exemplar_id, model, vector)
            if progress:
                progress(done, len(todo))
        return len(todo)

    def index(self, model: str | None = None) -> VectorIndex:
        """The FAISS index for `model` (default: the embedder's), current with the store."""
        model = model or self._model_id()
        current = self._indexes.get(model)
        generation = self.generation()
        if current is not None and current.generation == generation:
            return current
        self.conn.execute("BEGIN")  # one snapshot for generation + rows
        try:
            generation = self.generation()
            count = self.conn.execute("SELECT COUNT(*) FROM embeddings WHERE model = ?", (model,)).fetchone()[0]
            index = VectorIndex.load(self.index_dir, model, generation, count)
            if index is None:
                index = self._build_index(model, generation)
                self._dirty.add(model)
        finally:
            self.conn.execute("COMMIT")
        self._indexes[model] = index
        return index

    def _build_index(self, model: str, generation: int) -> VectorIndex:
        rows = self.conn.execute(
            "SELECT exemplar_id, dim, vector FROM embeddings WHERE model = ? ORDER BY exemplar_id", (model,)
        ).fetchall()
        dims = {dim for _, dim, _ in rows}
        if len(dims) > 1:
            raise RapError(f"stored embeddings for {model} have mixed widths {sorted(dims)}")
        dim = dims.pop() if dims else 1  # an empty index takes its width from its first vectors
        ids = np.array([r[0] for r in rows], np.int64)
        vectors = np.stack([np.frombuffer(r[2], np.float32) for r in rows]) if rows else np.zeros((0, dim))
        return VectorIndex.build(model, dim, generation, ids, vectors)

    def _model_id(self) -> str:
        if self.embedder is None:
            raise RapError("no image embedder configured")
        return self.embedder.model_id

    def search(self, queries: np.ndarray, k: int = 2, model: str | None = None) -> list[list[Hit]]:
        """For each query vector, the k nearest exemplars, best first."""
        index = self.index(model)
        if index.count == 0:
            return [[] for _ in range(len(queries))]
        sims, ids = index.search(np.atleast_2d(queries), k)
        wanted = sorted({int(i) for i in ids.ravel() if i >= 0})
        marks = ",".join("?" * len(wanted))
        owner = {
            r[0]: (r[1], r[2])
            for r in self.conn.execute(
                f"SELECT e.id, c.id, c.name FROM exemplars e JOIN concepts c ON c.id = e.concept_id "
                f"WHERE e.id IN ({marks})",
                wanted,
            )
        }
        return [
            [Hit(int(i), *owner[int(i)], float(s)) for s, i in zip(srow, irow, strict=True) if int(i) in owner]
            for srow, irow in zip(sims, ids, strict=True)
        ]

    # --- health --------------------------------------------------------------------------------

    def check(self) -> list[str]:
        """Problems found, empty when the data folder is healthy (see health.check)."""
        from .. import health

        return health.check(self)

    def flush(self) -> None:
        """Persist changed FAISS caches (a crash before this only costs a rebuild)."""
        if self.read_only:
            self._dirty.clear()
            return
        for model in sorted(self._dirty):
            index = self._indexes.get(model)
            if index is not None:
                index.save(self.index_dir)
        self._dirty.clear()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.flush()
        self.conn.close()
        self._journal.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _retag(info: str, old: str, new: str) -> str:
    import re

    return re.sub(re.escape(names.tag(old)), names.tag(new).replace("\\", r"\\"), info, flags=re.IGNORECASE)


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
