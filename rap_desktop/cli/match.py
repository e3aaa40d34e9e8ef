"""`rap-desktop match confirm|reject|reassign|undo`: correct retrieval, and take a correction back."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core import actions, corrections
from ..core.changes import Done
from ..core.images import sha256_bytes
from ..core.session import Session
from .concepts import owed_sidecars
from .text import rematched


def register(sub, command) -> None:
    match = sub.add_parser("match", help="correct retrieval: confirm, reject, reassign, undo").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    for name, handler, text in (
        ("confirm", match_confirm, "the region shows its accepted concept (or --concept)"),
        ("reject", match_reject, "the region does not show its accepted concept (or --concept)"),
    ):
        p = command(match, name, handler, text)
        p.add_argument("photo", help="photo path or content hash (as printed by retrieve --json)")
        p.add_argument("region", help="region id, e.g. r1")
        p.add_argument("--concept", help="the concept meant (default: the region's accepted one)")
    p = command(match, "reassign", match_reassign, "the region shows NAME (created from the region if new)")
    p.add_argument("photo")
    p.add_argument("region")
    p.add_argument("name")
    p.add_argument("--info", default="", help="description, when NAME is a new concept")
    p.add_argument("--category", help="category, when NAME is a new concept (default: the detector label)")
    command(match, "undo", match_undo, "take back the last correction")


def _photo(session: Session, ref: str) -> str:
    """A photo given as a file is looked up by its content, so a moved file still matches."""
    session.store()  # opened first, as always: a data folder that cannot open is the error shown
    path = Path(ref)
    return sha256_bytes(path.read_bytes()) if path.is_file() else ref


def _correction(done: Done[corrections.Correction]) -> dict:
    rematched(done.changes)  # a correction teaches retrieval: the album followed at once
    c = done.value
    return {"correction": c.id, "action": c.action, "summary": c.summary, "text": c.summary}


def match_confirm(args: argparse.Namespace, session: Session) -> dict:
    return _correction(actions.confirm(session, _photo(session, args.photo), args.region, args.concept))


def match_reject(args: argparse.Namespace, session: Session) -> dict:
    return _correction(actions.reject(session, _photo(session, args.photo), args.region, args.concept))


def match_reassign(args: argparse.Namespace, session: Session) -> dict:
    return _correction(
        actions.reassign(session, _photo(session, args.photo), args.region, args.name, args.info, args.category)
    )


def match_undo(args: argparse.Namespace, session: Session) -> dict:
    result = _correction(actions.undo_correction(session))
    if result["action"] != "merge":
        return result
    sidecars = owed_sidecars(session)  # the sidecars the merge changed say OTHER again
    return {**result, **sidecars, "text": "\n".join(t for t in (result["text"], sidecars["text"]) if t)}
