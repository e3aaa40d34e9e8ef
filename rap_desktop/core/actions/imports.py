"""Concepts from elsewhere: a RAP reference database folder, or one of our backups."""

from __future__ import annotations

from pathlib import Path

from rap_desktop.core import backup, rap_import
from rap_desktop.core.actions.follow import followed
from rap_desktop.core.changes import Changes, Done
from rap_desktop.core.session import Session
from rap_desktop.core.store import ImportReport


def _imported(session: Session, report: ImportReport) -> Done[ImportReport]:
    names = tuple(r.concept.name for r in report.added)
    return Done(report, followed(session, Changes(concepts=True, exemplars=True, names=names)))


def import_rap(session: Session, folder: Path, skip_existing: bool = False) -> Done[ImportReport]:
    return _imported(session, rap_import.import_rap(session.store(), folder, skip_existing))


def import_backup(session: Session, archive: Path, skip_existing: bool = False) -> Done[ImportReport]:
    return _imported(session, backup.import_zip(session.store(), archive, skip_existing))
