"""`rap-desktop concept add|add-image|list|edit|merge|remove`: the concepts themselves."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..core import actions
from ..core.album import name_jobs
from ..core.album.indexer import Progress
from ..core.errors import RapError
from ..core.images import parse_box
from ..core.names import tag
from ..core.session import Session
from ..core.store import AddResult, Concept
from .text import rematched, warn


def _box(text: str):
    try:
        return parse_box(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub, command) -> None:
    """Add the `concept` sub-commands (`command` is build_parser's helper)."""
    concept = sub.add_parser("concept", help="remember, list, edit and remove concepts").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    p = command(concept, "add", concept_add, "register a new concept from one photo")
    p.add_argument("name")
    p.add_argument("image", type=Path)
    p.add_argument("--info", default="", help="a short description (use <name> to refer to it)")
    p.add_argument("--category", default="", help="one word the detector can look for: dog, person, mug")
    p.add_argument("--box", type=_box, help="X1,Y1,X2,Y2 in pixels of the photo (default: whole photo)")
    p = command(concept, "add-image", concept_add_image, "add another photo of a concept")
    p.add_argument("name")
    p.add_argument("image", type=Path)
    p.add_argument("--box", type=_box)
    command(concept, "list", concept_list, "list concepts")
    p = command(concept, "edit", concept_edit, "rename a concept or change its info / category")
    p.add_argument("name")
    p.add_argument("--rename")
    p.add_argument("--info")
    p.add_argument("--category")
    p = command(concept, "merge", concept_merge, "OTHER is the same person or thing as KEEP: one concept, KEEP")
    p.add_argument("keep", help="the concept that stays (its name is kept)")
    p.add_argument("other", help="the concept that goes: its photos, matches and captions become KEEP's")
    p = command(concept, "remove", concept_remove, "remove a concept and its images")
    p.add_argument("name")


def concept_dict(c: Concept) -> dict:
    return {
        "name": c.name,
        "info": c.info,
        "category": c.category,
        "exemplars": c.exemplar_count,
        "created": c.created,
        "updated": c.updated,
    }


def _added(result: AddResult) -> dict:
    warn(result.warning)
    return {
        "concept": concept_dict(result.concept),
        "exemplar": {"id": result.exemplar.id, "image": result.exemplar.image, "box": result.exemplar.box},
        "embedded": result.embedded,
    }


def concept_add(args: argparse.Namespace, session: Session) -> dict:
    done = actions.add_concept(session, args.name, args.image, args.info, args.category, args.box)
    rematched(done.changes)
    return {**_added(done.value), "text": f"added {tag(done.value.concept.name)}"}


def concept_add_image(args: argparse.Namespace, session: Session) -> dict:
    done = actions.add_exemplar(session, args.name, args.image, args.box)
    rematched(done.changes)
    result = done.value
    n = result.concept.exemplar_count
    return {**_added(result), "text": f"{tag(result.concept.name)} now has {n} image{'s' * (n != 1)}"}


def concept_list(args: argparse.Namespace, session: Session) -> dict:
    concepts = session.store(with_embedder=False).list_concepts()
    lines = [f"{tag(c.name):24} {c.category or '-':12} {c.exemplar_count:3}  {c.info}" for c in concepts]
    text = "\n".join(lines) if lines else "no concepts yet; add one with `rap-desktop concept add NAME IMAGE`"
    return {"concepts": [concept_dict(c) for c in concepts], "text": text}


def concept_edit(args: argparse.Namespace, session: Session) -> dict:
    if args.rename is None and args.info is None and args.category is None:
        raise RapError("nothing to change: give --rename, --info or --category")
    # text only: the store opens without building the embedder
    before = session.store(with_embedder=False).get_concept(args.name).name
    done = actions.edit_concept(session, args.name, args.rename, args.info, args.category)
    rematched(done.changes)
    result = {"concept": concept_dict(done.value), "text": f"updated {tag(done.value.name)}"}
    if done.value.name != before:
        sidecars = owed_sidecars(session)
        result.update(sidecars, text="\n".join(t for t in (result["text"], sidecars["text"]) if t))
    return result


def concept_merge(args: argparse.Namespace, session: Session) -> dict:
    done = actions.merge_concepts(session, args.keep, args.other)
    rematched(done.changes)
    merged = done.value
    text = (
        f"{merged.summary}: {merged.exemplars} photo{'s' * (merged.exemplars != 1)}, "
        f"{merged.matches} album region{'s' * (merged.matches != 1)}, {merged.captions} stored "
        f"caption{'s' * (merged.captions != 1)} (undo: rap-desktop match undo)"
    )
    result = {
        "kept": merged.keep,
        "merged": merged.other,
        "correction": merged.correction,
        "exemplars": merged.exemplars,
        "regions": merged.matches,
        "captions": merged.captions,
        "text": text,
    }
    sidecars = owed_sidecars(session)
    sidecars["text"] = "\n".join(t for t in (text, sidecars["text"]) if t)
    return {**result, **sidecars}


def owed_sidecars(session: Session) -> dict:
    """Run the sidecar rewrites owed (this change's, and any an earlier run left unfinished) in the
    foreground, a progress line on stderr each second; what they did as the result's part."""
    last = [0.0]

    def show(progress: Progress) -> None:
        now = time.monotonic()
        if progress.done == progress.total or now - last[0] >= 1.0:
            last[0] = now
            print(f"rap-desktop: sidecars {progress.done}/{progress.total}", file=sys.stderr, flush=True)

    reports = name_jobs.run_pending(session.store(with_embedder=False), show)
    failed = [(path, why) for report in reports for path, why in report.failed]
    for path, why in failed:
        warn(f"{path}: {why}")
    result = {
        "sidecars": [path for report in reports for path in report.rewritten],
        "sidecars_failed": [path for path, _ in failed],
    }
    if failed:  # the store changed all the same: say which files still carry the old name
        olds = ", ".join(dict.fromkeys(tag(r.old) for r in reports if r.failed))
        result["error"] = f"{len(failed)} XMP sidecars still say {olds}: they could not be rewritten"
    return {**result, "text": "\n".join(report.line() for report in reports)}


def register_album_rename(actions, command) -> None:
    """`rap-desktop album rename --resume` (under `album`)."""
    p = command(actions, "rename", album_rename, "finish the sidecar renames a cancelled or stopped run left")
    p.add_argument("--resume", action="store_true", help="finish them (the only thing it does)")


def album_rename(args: argparse.Namespace, session: Session) -> dict:
    if not args.resume:
        raise RapError("say --resume: it finishes the sidecar renames left unfinished (nothing else)")
    result = owed_sidecars(session)
    return {**result, "text": result["text"] or "no sidecar renames left to finish"}


def concept_remove(args: argparse.Namespace, session: Session) -> dict:
    session.store(with_embedder=False)
    done = actions.remove_concept(session, args.name)
    rematched(done.changes)
    return {"removed": done.value.name, "text": f"removed {tag(done.value.name)}"}
