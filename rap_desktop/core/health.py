"""`check`: everything that can be wrong with a data folder, said per table and row, never a crash.

A damaged database (malformed pages, text that is not UTF-8, a vector blob of the wrong length),
photo files that are missing or whose content no longer matches their name, rows naming files
outside the images folder, a search index out of step: each is one line of the report.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from .errors import RapError
from .images import sha256_file
from .store import CONTENT_NAME, Store
from .store import health as rows_of

RESCUE = (
    "rescue what is readable: rap-desktop export rescue.zip, then rap-desktop --home NEW_FOLDER import rescue.zip"
)


def check(store: Store) -> list[str]:
    """Problems found, empty when the data folder is healthy."""
    problems = _guarded("the SQLite integrity check", lambda: _integrity(store))
    problems += _guarded("reading the tables", lambda: _unreadable(store))
    problems += _guarded("reading the photo rows", lambda: _files(store))
    vectors = _guarded("reading the embeddings", lambda: _vectors(store))
    problems += vectors
    if not vectors:  # the index is built from the vectors: only comparable when they are sound
        problems += _guarded("comparing the search index", lambda: _index(store))
    return problems


def _guarded(what: str, step) -> list[str]:
    try:
        return list(step())
    except (sqlite3.Error, RapError, ValueError, RuntimeError, OSError) as exc:
        return [f"{what} failed: {exc}"]


def _integrity(store: Store) -> Iterator[str]:
    rows = rows_of.integrity_problems(store, 20)
    if rows != ["ok"]:
        yield f"SQLite integrity check: {'; '.join(rows)}"
    fk = rows_of.dangling_references(store)
    if fk:
        tables = sorted({str(r[0]) for r in fk})
        yield f"{len(fk)} row(s) of {', '.join(tables)} point to missing rows"


def _unreadable(store: Store) -> Iterator[str]:
    """Tables that cannot be read to the end, and rows whose text is not UTF-8."""
    tables = [t for t in rows_of.table_names(store) if not t.startswith("sqlite_")]
    # text as bytes: a row whose text is not UTF-8 is reported, not a crash half-way through a table
    with rows_of.raw_text(store):
        for table in tables:
            info = rows_of.table_columns(store, table)
            text = [i for i, r in enumerate(info) if _decoded(r[2]).upper() == "TEXT"]
            last = None
            try:
                for row in rows_of.table_rows(store, table):
                    last = row[0]
                    for i in text:
                        if not _utf8(row[i + 1]):
                            yield f"{table} row {row[0]}: {_decoded(info[i][1])} is not valid UTF-8"
            except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
                where = f"after row {last}" if last is not None else "from its first row"
                yield f"table {table} cannot be read {where}: {exc}"


def _decoded(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _utf8(value: object) -> bool:
    if not isinstance(value, bytes):
        return True
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _files(store: Store) -> Iterator[str]:
    """Each photo row: a name the store makes, the file there, its content matching its name."""
    with rows_of.raw_text(store):
        rows = rows_of.exemplar_files(store)
    for exemplar_id, raw, concept in rows:
        image = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        owner = f"<{concept.decode('utf-8', 'replace')}>" if isinstance(concept, bytes) else "no concept"
        where = f"photo {exemplar_id} of {owner}"
        if not isinstance(image, str) or not CONTENT_NAME.fullmatch(image):
            yield f"exemplars row {exemplar_id} ({where}) names {image!r}, not a file of the images folder"
            continue
        path = store.image_path(image)
        if not path.is_file():
            yield f"{where}: image file {image} is missing"
        elif sha256_file(path) != image.split(".", 1)[0]:
            yield f"{where}: image file {image} is damaged (its content no longer matches its name)"


def _vectors(store: Store) -> Iterator[str]:
    """Every stored vector has the length its row says, and one width per model."""
    with rows_of.raw_text(store):
        rows = rows_of.embedding_sizes(store)
    widths: dict[object, set] = {}
    for exemplar_id, model, dim, length in rows:
        shown = model.decode("utf-8", "replace") if isinstance(model, bytes) else model
        if not isinstance(dim, int) or dim <= 0 or length != 4 * dim:
            yield f"embeddings row of photo {exemplar_id} ({shown}): {length} bytes for width {dim!r}"
        else:
            widths.setdefault(shown, set()).add(dim)
    for model, dims in widths.items():
        if len(dims) > 1:
            yield f"embeddings of {model} have mixed widths {sorted(dims)}"
    for table in ("regions", "negatives"):
        with rows_of.raw_text(store):
            found = rows_of.broken_vectors(store, table)
        if found:
            yield f"{found} {table} row(s) hold a vector of a broken length"


def _index(store: Store) -> Iterator[str]:
    for model in rows_of.embedding_models(store):
        index = store.index(model)
        stored = rows_of.embedded_exemplars(store, model)
        if set(index.ids().tolist()) != stored:
            yield f"search index for {model} does not match the stored embeddings"
