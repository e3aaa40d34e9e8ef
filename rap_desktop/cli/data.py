"""`rap-desktop import-rap|export|import|check`: concepts in and out of the data folder, and its health."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core import actions, backup, health
from ..core.changes import Done
from ..core.names import tag
from ..core.session import Session
from ..core.store import ImportReport
from .text import rematched, warn


def register(sub, command) -> None:
    p = command(sub, "import-rap", import_rap, "import a RAP reference database folder (database.json)")
    p.add_argument("folder", type=Path)
    p.add_argument("--skip-existing", action="store_true", help="leave out concepts whose name is taken")
    p = command(sub, "export", export, "write a full backup zip")
    p.add_argument("file", type=Path)
    p = command(sub, "import", import_backup, "restore concepts from a backup zip")
    p.add_argument("file", type=Path)
    p.add_argument("--skip-existing", action="store_true", help="leave out concepts whose name is taken")
    command(sub, "check", check, "check the data folder for damage")


def _imported(done: Done[ImportReport], verb: str) -> dict:
    rematched(done.changes)
    report = done.value
    for result in report.added[:1]:  # one warning covers the batch (same embedder for all)
        warn(result.warning)
    for line in report.left_out:
        warn(line)
    for note in report.notes:
        warn(note)
    names = [r.concept.name for r in report.added]
    text = f"{verb} {len(names)} concept(s): {', '.join(map(tag, names))}"
    if report.skipped:
        text += f"\nskipped (already present): {', '.join(map(tag, report.skipped))}"
    if report.hidden:
        text += f"\n{report.hidden} hidden region(s) (strangers) hidden again"
    doc = {"imported": names, "skipped": report.skipped, "left_out": report.left_out, "text": text}
    doc["hidden"] = report.hidden
    if report.left_out:
        doc["error"] = f"{len(report.left_out)} damaged item(s) were not {verb} (listed above); the rest was"
    return doc


def import_rap(args: argparse.Namespace, session: Session) -> dict:
    return _imported(actions.import_rap(session, args.folder, args.skip_existing), "imported")


def export(args: argparse.Namespace, session: Session) -> dict:
    report = backup.export_zip(session.store(with_embedder=False), args.file)
    for line in report.left_out:
        warn(line)
    count = report.concepts
    doc = {"file": str(args.file), "concepts": count, "left_out": report.left_out, "hidden": report.hidden}
    doc["text"] = f"wrote {count} concept(s) to {args.file}"
    if report.hidden:
        doc["text"] += f" and {report.hidden} hidden region(s) (strangers)"
    if report.left_out:  # the backup is still usable: everything sound is in it
        left = len(report.left_out)
        doc["error"] = f"{left} damaged item(s) left out of {args.file} (listed above); the rest is in it"
    return doc


def import_backup(args: argparse.Namespace, session: Session) -> dict:
    return _imported(actions.import_backup(session, args.file, args.skip_existing), "restored")


def check(args: argparse.Namespace, session: Session) -> dict:
    problems = health.check(session.store(with_embedder=False))
    if problems:
        error = f"{session.home} has {len(problems)} problem(s) (listed above); {health.RESCUE}"
        return {"ok": False, "problems": problems, "text": "\n".join(problems), "error": error}
    return {"ok": True, "problems": [], "text": f"{session.home}: ok"}
