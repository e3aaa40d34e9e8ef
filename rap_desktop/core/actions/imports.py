"""Concepts from elsewhere: a RAP reference database folder, or one of our backups."""

from __future__ import annotations

from pathlib import Path

from .. import backup, rap_import
from ..changes import Changes, Done
from ..session import Session
from ..store import ImportReport
from .follow import followed


def _imported(session: Session, report: ImportReport) -> Done[ImportReport]:
    names = tuple(r.concept.name for r in report.added)
    return Done(report, followed(session, Changes(concepts=True, exemplars=True, names=names)))


def import_rap(session: Session, folder: Path, skip_existing: bool = False) -> Done[ImportReport]:
    return _imported(session, rap_import.import_rap(session.store(), folder, skip_existing))


def import_backup(session: Session, archive: Path, skip_existing: bool = False) -> Done[ImportReport]:
    done = _imported(session, backup.import_zip(session.store(), archive, skip_existing))
    return Done(done.value, done.changes | Changes(groups=done.value.hidden > 0))  # hidden strangers restored
