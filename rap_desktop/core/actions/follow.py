"""The consequence every action shares: the album follows the change at once."""

from __future__ import annotations

from dataclasses import replace

from ..album import rematch
from ..changes import Changes
from ..session import Session


def followed(session: Session, changes: Changes) -> Changes:
    """Re-match the album's stored regions (only what the change can affect; no model run) and say
    so in the record: match rows written by it mark `matches`, and the unknown groups may move."""
    report = rematch.after_change(session)
    if report is None:  # nothing indexed: no album to follow
        return changes
    written = changes.matches or report.written > 0
    return replace(changes, rematch=report, matches=written, groups=True)
