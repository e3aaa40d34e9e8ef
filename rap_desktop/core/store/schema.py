"""The SQLite schema. SQLite is the source of truth; everything else (FAISS) is derived."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from ..errors import RapError
from . import index_state
from .hidden import SCHEMA as HIDDEN_SCHEMA
from .hidden_vectors import SCHEMA as HIDDEN_VECTORS_SCHEMA
from .review_cache import SCHEMA as REVIEW_CACHE_SCHEMA
from .sidecar_jobs import SCHEMA as SIDECAR_JOBS_SCHEMA

SCHEMA_VERSION = 2  # 2: album tables (a v1 store gains them in place on open)

# AUTOINCREMENT: an id is never reused, so the correction log and caches can name rows safely.
# Later features (album, corrections) fill photos/regions/matches/negatives/corrections; they are
# created now so a store made today opens unchanged tomorrow.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS concepts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    info TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS exemplars (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    concept_id INTEGER NOT NULL REFERENCES concepts(id) ON DELETE CASCADE,
    image TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    box TEXT,
    source TEXT NOT NULL CHECK (source IN ('registered', 'confirmed', 'imported')),
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS exemplars_concept ON exemplars(concept_id);
CREATE INDEX IF NOT EXISTS exemplars_image ON exemplars(image);
CREATE TABLE IF NOT EXISTS embeddings (
    exemplar_id INTEGER NOT NULL REFERENCES exemplars(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (exemplar_id, model)
);
CREATE INDEX IF NOT EXISTS embeddings_model ON embeddings(model);
CREATE TABLE IF NOT EXISTS photos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256 TEXT NOT NULL UNIQUE,
    path TEXT,
    width INTEGER,
    height INTEGER,
    taken REAL,
    added REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS regions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
    label TEXT,
    score REAL,
    source TEXT NOT NULL DEFAULT 'detector' CHECK (source IN ('detector', 'whole', 'user')),
    detector TEXT,
    model TEXT,
    vector BLOB,
    UNIQUE (photo_id, ordinal)
);
CREATE INDEX IF NOT EXISTS regions_photo ON regions(photo_id);
CREATE TABLE IF NOT EXISTS matches (
    region_id INTEGER NOT NULL REFERENCES regions(id) ON DELETE CASCADE,
    concept_id INTEGER NOT NULL REFERENCES concepts(id) ON DELETE CASCADE,
    similarity REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('auto', 'confirmed', 'rejected', 'reassigned')),
    accepted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (region_id, concept_id)
);
CREATE INDEX IF NOT EXISTS matches_concept ON matches(concept_id);
-- the user's decisions alone (a few among 10^5-10^6 rows): every re-match reads them
CREATE INDEX IF NOT EXISTS matches_decided ON matches(region_id, concept_id, status) WHERE status != 'auto';
CREATE TABLE IF NOT EXISTS negatives (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    concept_id INTEGER NOT NULL REFERENCES concepts(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    region_id INTEGER REFERENCES regions(id) ON DELETE SET NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS negatives_model ON negatives(model);
CREATE TABLE IF NOT EXISTS album_folders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    added REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS album_files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    photo_id INTEGER REFERENCES photos(id) ON DELETE SET NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('indexed', 'failed')),
    error TEXT,
    seen REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS album_files_photo ON album_files(photo_id);
CREATE TABLE IF NOT EXISTS album_captions (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    model TEXT NOT NULL,
    concepts TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS album_groups (
    id INTEGER PRIMARY KEY,
    model TEXT NOT NULL,
    regions TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS regions_model_photo ON regions(model, photo_id);
CREATE TABLE IF NOT EXISTS corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    action TEXT NOT NULL,
    payload TEXT NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0
);
"""
SCHEMA += index_state.TABLES  # album folders an indexing run has not finished
SCHEMA += HIDDEN_SCHEMA  # hidden regions and skipped review questions (core/store/hidden.py)
SCHEMA += REVIEW_CACHE_SCHEMA  # the groups listing's basis, the uncertain matches' index (core/store/review_cache.py)
SCHEMA += SIDECAR_JOBS_SCHEMA  # sidecar rewrites owed after a rename or merge (core/store/sidecar_jobs.py)
SCHEMA += HIDDEN_VECTORS_SCHEMA  # what hidden strangers look like (core/store/hidden_vectors.py)


def connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode: transactions are opened explicitly (BEGIN IMMEDIATE)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=60.0, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # a committed concept survives power loss, not just a crash
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=60000")
    return conn


def connect_read_only(path: str) -> tuple[sqlite3.Connection, str]:
    """A reading connection to a store that cannot be written (read-only medium, full disk).

    First `mode=ro` (SQLite still needs the -shm file, which it may be able to use); then
    `immutable=1`, which needs nothing written at all but cannot see changes still in the -wal file.
    Returns the connection and a note ("" or what could not be read)."""
    uri = Path(path).resolve().as_uri()
    last: sqlite3.Error | None = None
    for query, note in (("mode=ro", ""), ("mode=ro&immutable=1", "changes not yet folded into the store file")):
        try:
            conn = sqlite3.connect(f"{uri}?{query}", uri=True, isolation_level=None, check_same_thread=False)
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            last = exc
            continue
        conn.execute("PRAGMA busy_timeout=60000")
        wal = Path(f"{path}-wal")
        pending_wal = note and wal.is_file() and wal.stat().st_size > 0
        return conn, (f"{wal.name} holds {note} that cannot be read now" if pending_wal else "")
    raise last or sqlite3.OperationalError("unable to open database file")


_OBJECTS = re.compile(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)")


def schema_version(conn: sqlite3.Connection) -> int | None:
    """The version the store says it has (None for a new store); refuses one from a newer app."""
    row = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
    version = None
    if row:
        found = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        try:
            version = int(found[0]) if found else None
        except (TypeError, ValueError):
            raise RapError(f"the store's schema version {found[0]!r} is not a number (damaged store)") from None
    if version is not None and version > SCHEMA_VERSION:
        raise RapError(
            f"this data folder was written by a newer RAP Desktop (store schema {version}, "
            f"we read {SCHEMA_VERSION}); update the app"
        )
    return version


def _up_to_date(conn: sqlite3.Connection) -> bool:
    # Reading only: a store that needs nothing is not written to (so it opens on a full disk).
    if schema_version(conn) != SCHEMA_VERSION:
        return False
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}
    generation = conn.execute("SELECT 1 FROM meta WHERE key='generation'").fetchone()
    return generation is not None and set(_OBJECTS.findall(SCHEMA)) <= have


def migrate(conn: sqlite3.Connection) -> None:
    if _up_to_date(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        schema_version(conn)
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('generation', '0')")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
