"""The sidecar rewrites owed after a rename, a merge or the undo of a merge (core/store/sidecar_jobs.py),
run in steps a GUI puts on its lanes (store side / file side, marked on each function) or all at
once (`run_pending`: the CLI). A job left pending (cancelled, the app killed or closed) is simply
run again: a rename finds nothing left to do where it was done, a restore keeps only the files it
has not written yet.

- A rename job writes its concept's name as the store holds it when the job runs (a later rename or
  merge wins over the name asked then), and is dropped unread when its old name belongs to another
  concept now (those sidecars may be that one's).
- A restore (the undo of a merge) writes each sidecar the merge changed again from the store, through
  the same `xmp.write_sidecar` a caption run uses: the concepts accepted in the photo, their regions,
  the stored caption. KEEP's name goes from it unless the store still has KEEP in the photo or the
  sidecar named KEEP before the merge; nothing is replaced by string, so a photo with both keeps both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import xmp
from ..cancel import CancelToken
from ..errors import RapError
from ..store import Store, captions
from ..store import merge as merge_rows
from ..store import sidecar_jobs as jobs
from . import caption_steps, renames
from .indexer import Progress

CHUNK = 25  # sidecars per step: a cancel answers within a few files, progress moves


@dataclass
class Run:
    """One job under way: what it writes, and what it did so far."""

    job: jobs.Job
    name: str  # the name the sidecars get (a restore: OTHER's)
    photos: list[str] = field(default_factory=list)  # a rename: the photos whose sidecars are looked at
    todo: list[str] = field(default_factory=list)  # the sidecars, once found
    had: dict[str, bool] = field(default_factory=dict)  # a restore: which named KEEP before the merge
    photo_index: dict[str, tuple[str, str]] = field(default_factory=dict)  # a restore: sidecar -> photo, naming
    sizes: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # a restore: photo -> id, size
    looked: int = 0
    rewritten: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    had_new: list[str] = field(default_factory=list)

    @property
    def old(self) -> str:
        return self.job.old

    def chunks(self) -> list[list[str]]:
        return [self.todo[i : i + CHUNK] for i in range(0, len(self.todo), CHUNK)]

    def add(self, report: renames.RenameReport) -> None:
        self.looked += report.looked
        self.rewritten.extend(report.rewritten)
        self.failed.extend(report.failed)
        self.had_new.extend(report.had_new)

    def report(self, cancelled: bool) -> renames.RenameReport:
        done = (tuple(self.rewritten), tuple(self.failed), cancelled, tuple(self.had_new))
        return renames.RenameReport(self.old, self.name, self.looked, *done)


@dataclass(frozen=True)
class Restore:
    """One sidecar to write again from the store."""

    sidecar: str
    photo: str
    size: tuple[int, int]
    caption: str | None
    names: tuple[str, ...]
    regions: tuple[xmp.Region, ...]
    drop: tuple[str, ...]
    style: str


def pending(store: Store) -> list[jobs.Job]:
    """Store side: the jobs owed, oldest first."""
    return jobs.pending(store)


def start(store: Store, job: jobs.Job) -> Run | None:
    """Store side: the job ready to run, or None when there is nothing to do (then it is closed)."""
    if job.kind == jobs.RESTORE:
        run = Run(job, job.new)
        files = jobs.files(store, job.id)
        run.todo, run.had = [path for path, _ in files], dict(files)
        return run
    found = store.find_concept(job.old)
    if found is not None and found.id != job.concept:  # the old name is another concept's now
        _close(store, job)
        return None
    name = renames.names_now(store, [job.concept]).get(job.concept, job.new) if job.concept else job.new
    return Run(job, name, photos=renames.photo_files(store))


def find(run: Run) -> Run:
    """File side: a rename's sidecars (those that exist next to its photos)."""
    if run.job.kind == jobs.RENAME:
        run.todo = [str(p) for p in renames.sidecars(run.photos)]
    return run


def rename_chunk(run: Run, paths: Sequence[str], cancel: CancelToken | None = None) -> renames.RenameReport:
    """File side of a rename: the old name says the new one in these sidecars."""
    return renames.rewrite_sidecars([Path(p) for p in paths], run.old, run.name, None, cancel)


def restore_items(store: Store, run: Run, paths: Sequence[str]) -> list[Restore]:
    """Store side of a restore: what each of these sidecars is to say now (a sidecar whose photo the
    store no longer knows is left as it is)."""
    if not run.photo_index:  # once per job: every photo the store knows, by its sidecar names
        photos = merge_rows.photo_files(store)
        run.photo_index = {str(xmp.sidecar_path(p, s)): (p, s) for p in photos for s in renames.STYLES}
        run.sizes = merge_rows.photo_sizes(store)
    known, sizes = run.photo_index, run.sizes
    keep = run.job.concept
    keep_now = renames.names_now(store, [keep]).get(keep) if keep is not None else None
    out = []
    for sidecar in paths:
        if sidecar not in known:
            continue
        photo, style = known[sidecar]
        if photo not in sizes:
            continue
        photo_id, width, height = sizes[photo]
        found = caption_steps.accepted(store, photo_id)
        names = tuple(dict.fromkeys(c.name for c, _ in found))
        drop = () if run.had.get(sidecar) else tuple(n for n in dict.fromkeys((run.old, keep_now)) if n)
        caption = captions.caption(store, photo_id)
        regions = tuple(region for _, region in found)
        out.append(Restore(sidecar, photo, (width, height), caption, names, regions, drop, style))
    return out


def write_restored(
    run: Run, paths: Sequence[str], items: Sequence[Restore], cancel: CancelToken | None = None
) -> renames.RenameReport:
    """File side of a restore: each sidecar written again from `items` (only one this app wrote)."""
    by_path = {item.sidecar: item for item in items}
    rewritten: list[str] = []
    failed: list[tuple[str, str]] = []
    looked = 0
    for path in paths:
        if cancel is not None and cancel.cancelled:
            break
        looked += 1
        item = by_path.get(path)
        if item is None or not xmp.ours(path) or 0 in item.size:
            continue
        try:
            with renames.writing():
                xmp.write_sidecar(item.photo, item.size, item.caption, item.names, item.regions, item.style, item.drop)
            rewritten.append(path)
        except (RapError, OSError) as exc:
            failed.append((path, str(exc)))
    return renames.RenameReport(run.old, run.name, looked, tuple(rewritten), tuple(failed), looked < len(paths))


def record(store: Store, run: Run, paths: Sequence[str], report: renames.RenameReport) -> bool:
    """Store side after a chunk: what it did is noted (a merge's changed files; a restore's done
    ones). False when the job is gone meanwhile (its merge undone): stop."""
    run.add(report)
    with store.transaction():
        if run.job.kind == jobs.RESTORE:
            jobs.written(store, run.job, list(paths[: report.looked]))
            return jobs.exists(store, run.job)
        had = set(report.had_new)
        return jobs.record(store, run.job, [(p, p in had) for p in report.rewritten])


def finish(store: Store, run: Run) -> None:
    """Store side: the job went through every file."""
    _close(store, run.job)


def _close(store: Store, job: jobs.Job) -> None:
    with store.transaction():
        jobs.finish(store, job)


def run_job(
    store: Store,
    job: jobs.Job,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
) -> renames.RenameReport | None:
    """One job, every step in this thread; None when there was nothing to do."""
    run = start(store, job)
    if run is None:
        return None
    find(run)
    began = time.perf_counter()
    for paths in run.chunks():
        if cancel is not None and cancel.cancelled:
            return run.report(True)
        if job.kind == jobs.RESTORE:
            report = write_restored(run, paths, restore_items(store, run, paths), cancel)
        else:
            report = rename_chunk(run, paths, cancel)
        going = record(store, run, paths, report)
        if progress is not None:
            elapsed = time.perf_counter() - began
            rate = run.looked / elapsed if elapsed > 0 else 0.0
            eta = (len(run.todo) - run.looked) / rate if rate > 0 else None
            progress(Progress(run.looked, len(run.todo), len(run.failed), rate, eta, paths[-1]))
        if report.cancelled or not going:
            return run.report(report.cancelled)
    finish(store, run)
    return run.report(False)


def run_pending(
    store: Store,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
) -> list[renames.RenameReport]:
    """Every job owed, oldest first (the CLI after a rename, a merge, an undo; `album rename --resume`)."""
    reports = []
    for job in pending(store):
        if cancel is not None and cancel.cancelled:
            break
        report = run_job(store, job, progress, cancel)
        if report is not None:
            reports.append(report)
    return reports
