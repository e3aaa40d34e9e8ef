"""Sidecar rewrites a rename, a merge or the undo of a merge owes the XMP files (`sidecar_jobs`), so a
rewrite that was cancelled, or cut short by a crash or a closed window, is finished later (the
window at its next start, the CLI at its next rename, merge or undo, or `album rename --resume`).

A job is written in the same transaction as the change it follows, so it cannot be lost between
the two. Kinds:
- "rename": the app's sidecars saying `old` say the concept's name (`concept`'s name now, `new`
  when it is gone). A merge's rename job carries its correction-log entry, and its files
  (`sidecar_job_files`) list each sidecar it changed, with whether it named `new` already: what
  the undo of the merge must write again. Its row stays once finished for that reason; a plain
  rename's goes.
- "restore": the undo of a merge; its files are the sidecars to write again from the store (who is
  accepted in the photo, the stored caption), each removed once written; the job goes with the last.

Writing functions run inside an open `store.transaction()` unless said otherwise. This module
imports nothing of the store (the schema imports its SQL), so it takes anything with a `conn`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

RENAME, RESTORE = "rename", "restore"

# no AUTOINCREMENT: a job's id names nothing outside these two tables (its files go with it)
SCHEMA = """
CREATE TABLE IF NOT EXISTS sidecar_jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('rename', 'restore')),
    concept INTEGER,
    old TEXT NOT NULL,
    new TEXT NOT NULL,
    correction INTEGER,
    finished INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sidecar_job_files (
    job_id INTEGER NOT NULL REFERENCES sidecar_jobs(id) ON DELETE CASCADE,
    sidecar TEXT NOT NULL,
    had_new INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, sidecar)
);
"""


class HasConn(Protocol):
    conn: sqlite3.Connection


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    concept: int | None  # whose name the sidecars get (a merge: KEEP)
    old: str  # the name the sidecars say now
    new: str  # the name they get (a rename's target as it was asked; the concept's name now wins)
    correction: int | None  # a merge's log entry (its rename job and the restore of its undo)
    created: float = 0.0  # with the id, names this job alone (an id is used again once its job went)


_COLUMNS = "id, kind, concept, old, new, correction, created"


def add(store: HasConn, kind: str, concept: int | None, old: str, new: str, correction: int | None = None) -> int:
    """A job to do; returns its id."""
    cur = store.conn.execute(
        "INSERT INTO sidecar_jobs(kind, concept, old, new, correction, created) VALUES (?,?,?,?,?,?)",
        (kind, concept, old, new, correction, time.time()),
    )
    return int(cur.lastrowid)


def pending(store: HasConn) -> list[Job]:
    """The jobs not finished, oldest first (a read)."""
    rows = store.conn.execute(f"SELECT {_COLUMNS} FROM sidecar_jobs WHERE finished = 0 ORDER BY id")
    return [Job(*row) for row in rows]


def exists(store: HasConn, job: Job) -> bool:
    """The job is still there (not finished by another process, nor dropped by an undo)."""
    row = store.conn.execute(
        "SELECT 1 FROM sidecar_jobs WHERE id = ? AND kind = ? AND created = ?", (job.id, job.kind, job.created)
    )
    return row.fetchone() is not None


def files(store: HasConn, job_id: int) -> list[tuple[str, bool]]:
    """(sidecar, named `new` before) of each file of the job, in path order (a read)."""
    rows = store.conn.execute(
        "SELECT sidecar, had_new FROM sidecar_job_files WHERE job_id = ? ORDER BY sidecar", (job_id,)
    )
    return [(path, bool(had)) for path, had in rows]


def record(store: HasConn, job: Job, changed: Sequence[tuple[str, bool]]) -> bool:
    """A rename job changed these sidecars (sidecar, named `new` before). A merge's job undone
    meanwhile hands them to the restore of its undo (made here when that one is done already), so
    a file renamed just after the undo is written back too. False when the job is gone."""
    if exists(store, job):
        target = job.id if job.correction is not None else None  # only a merge's files are needed later
    else:
        target = _restore_for(store, job) if job.correction is not None else None
        if target is None:
            return False
    if target is not None:
        store.conn.executemany(
            "INSERT OR IGNORE INTO sidecar_job_files(job_id, sidecar, had_new) VALUES (?,?,?)",
            [(target, path, int(had)) for path, had in changed],
        )
    return exists(store, job)


def _restore_for(store: HasConn, job: Job) -> int | None:
    """The pending restore of an undone merge (made anew when the last one finished), or None when
    the merge is not undone (its job was dropped otherwise: nothing to restore)."""
    row = store.conn.execute(
        "SELECT id FROM sidecar_jobs WHERE kind = ? AND correction = ? AND finished = 0 ORDER BY id LIMIT 1",
        (RESTORE, job.correction),
    ).fetchone()
    if row is not None:
        return int(row[0])
    undone = store.conn.execute("SELECT undone FROM corrections WHERE id = ?", (job.correction,)).fetchone()
    if not undone or not undone[0]:
        return None
    return add(store, RESTORE, job.concept, job.new, job.old, job.correction)


def finish(store: HasConn, job: Job) -> None:
    """The job is done: a merge's rename job stays (finished) for the undo, the others go."""
    this = (job.id, job.created)
    if job.kind == RENAME and job.correction is not None:
        store.conn.execute("UPDATE sidecar_jobs SET finished = 1 WHERE id = ? AND created = ?", this)
    else:
        store.conn.execute("DELETE FROM sidecar_jobs WHERE id = ? AND created = ?", this)


def written(store: HasConn, job: Job, sidecars: Sequence[str]) -> None:
    """A restore wrote these sidecars: they leave its to-do list."""
    if not exists(store, job):
        return
    store.conn.executemany(
        "DELETE FROM sidecar_job_files WHERE job_id = ? AND sidecar = ?", [(job.id, path) for path in sidecars]
    )


def unmerged(store: HasConn, correction: int, keep: int, keep_name: str, other_name: str) -> int | None:
    """The merge logged as `correction` is undone: its rename job goes (a cancelled one must not
    go on renaming), and the sidecars it changed are to be written again from the store. Returns
    the restore job's id, or None when no sidecar was changed."""
    jobs = [r[0] for r in store.conn.execute("SELECT id FROM sidecar_jobs WHERE correction = ?", (correction,))]
    changed: dict[str, bool] = {}
    for job_id in jobs:
        for path, had in files(store, job_id):
            changed[path] = changed.get(path, False) or had
    store.conn.executemany("DELETE FROM sidecar_jobs WHERE id = ?", [(j,) for j in jobs])
    if not changed:
        return None
    restore = add(store, RESTORE, keep, keep_name, other_name, correction)
    store.conn.executemany(
        "INSERT INTO sidecar_job_files(job_id, sidecar, had_new) VALUES (?,?,?)",
        [(restore, path, int(had)) for path, had in sorted(changed.items())],
    )
    return restore
