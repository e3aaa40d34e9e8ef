"""`rap-desktop review`: the "Who's this?" queue from the command line, one question at a time.

`review next` prints the question that most needs a person (with --json: id, kind, suggested name,
the regions' boxes and photo paths); `review answer ID yes|no|skip|hide|NAME` answers it. Every answer
but skip is one correction (`rap-desktop match undo` takes it back); skipped questions are asked again
after `review next --again`.
"""

from __future__ import annotations

import argparse

from ..core import review
from ..core.actions import review as review_actions
from ..core.errors import RapError
from ..core.session import Session


def _settings(args: argparse.Namespace, session: Session) -> review.Settings:
    if not 0 < args.threshold <= 1 or args.min_size < 2:
        raise RapError("--threshold must be in (0, 1] and --min-size at least 2")
    return review_actions.settings(session, args.threshold, args.min_size)


def _question_dict(asked: review.Question) -> dict:
    return {
        "id": asked.id,
        "kind": asked.kind,
        "question": asked.text,
        "suggested": asked.suggested,
        "other": asked.other,
        "similarity": round(asked.similarity, 4) if asked.similarity is not None else None,
        "size": len(asked.regions),
        "photos": asked.photos,
        "label": asked.label,
        "regions": list(asked.regions),
        "examples": [{"region": s.region, "path": s.path, "box": [round(v, 1) for v in s.box]} for s in asked.samples],
    }


def _text(asked: review.Question) -> str:
    what = f"{len(asked.regions)} look-alike regions in {asked.photos} photos" if asked.kind == "group" else "a match"
    lines = [f"{asked.id}: {asked.text}  ({what}" + (f", {asked.label}" if asked.label else "") + ")"]
    if asked.other:
        lines.append(f"  or is it {asked.other}? (almost as close)")
    lines += [f"  {s.path or '(photo moved)'}  box {', '.join(f'{v:.0f}' for v in s.box)}" for s in asked.samples]
    words = "yes|no|skip|hide|NAME" if asked.suggested else "NAME|skip|hide"
    lines.append(f"answer with `rap-desktop review answer {asked.id} {words}`")
    return "\n".join(lines)


def next_cmd(args: argparse.Namespace, session: Session) -> dict:
    again = review_actions.ask_again(session) if args.again else 0
    settings = _settings(args, session)
    skipped = review_actions.skipped(session)
    store, model = session.store(), session.embedder.model_id
    asked = review.next_question(store, model, settings, skipped, reuse=not args.recluster)
    if asked is None:
        note = f" ({len(skipped)} skipped: `rap-desktop review next --again` asks them again)" if skipped else ""
        return {"question": None, "skipped": len(skipped), "asked_again": again, "text": "nothing to ask" + note}
    return {"question": _question_dict(asked), "skipped": len(skipped), "asked_again": again, "text": _text(asked)}


def answer_cmd(args: argparse.Namespace, session: Session) -> dict:
    word = args.name if args.name is not None else args.answer
    if not word or not word.strip():
        raise RapError("give an answer: yes, no, skip, hide or a name (or --name NAME)")
    keyword = word.strip().lower() if args.name is None else None
    settings = _settings(args, session)
    asked = review.question(session.store(), session.embedder.model_id, settings, args.id)
    if keyword == "skip":
        done = review_actions.skip(session, asked.id)
        return {"question": asked.id, "answer": "skip", "concept": None, "correction": None, "text": done.text}
    given = keyword if keyword in review.WORDS else word.strip()
    result = review_actions.answer(session, asked, given, args.info, args.category)
    answered = result.value
    text = answered.text + (" (take it back with `rap-desktop match undo`)" if answered.correction else "")
    return {
        "question": answered.question,
        "answer": answered.answer,
        "concept": answered.concept,
        "correction": answered.correction,
        "text": text,
    }


def _queue_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threshold", type=float, default=0.9, help="groups: cosine similarity to join (default 0.9)")
    p.add_argument("--min-size", type=int, default=3, help="groups: smallest group asked about (default 3)")


def register(sub, command) -> None:
    group = sub.add_parser("review", help='"Who\'s this?": the questions that most need a person, one at a time')
    actions = group.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = command(actions, "next", next_cmd, "the question that most needs a person now")
    _queue_options(p)
    p.add_argument("--again", action="store_true", help="ask the skipped questions again")
    p.add_argument(
        "--recluster",
        action="store_true",
        help="cluster the unknown groups afresh instead of reusing the listing the last answers left",
    )
    p = command(actions, "answer", answer_cmd, "answer a question: yes, no, skip, hide, or who it is")
    p.add_argument("id", help="the question's id, e.g. g12 (a group) or m345 (a match)")
    p.add_argument("answer", nargs="?", help="yes | no | skip | hide | NAME (an existing concept or a new one)")
    p.add_argument("--name", help="who it is, for a name that is also one of the answer words")
    p.add_argument("--info", default="", help="a new concept's description")
    p.add_argument("--category", help="a new concept's category (default: the detector's label)")
    _queue_options(p)
