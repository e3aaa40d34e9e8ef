"""Answers to the "Who's this?" queue (core/review.py): each a change like any correction, followed by
the album's re-match; every answer but skip is one correction-log entry (`match undo` takes it back)."""

from __future__ import annotations

from .. import review
from ..changes import Changes, Done
from ..session import Session
from ..store import hidden as hidden_table
from .follow import followed

_CHANGED = {"corrections": True, "matches": True, "groups": True}


def settings(session: Session, group_threshold: float = 0.9, min_size: int = 3) -> review.Settings:
    threshold, _ = session.retrieval_settings()
    return review.Settings(threshold, group_threshold, min_size)


def answer(
    session: Session,
    asked: review.Question,
    word: str,
    info: str = "",
    category: str | None = None,
) -> Done[review.Answered]:
    """Answer `asked`: "yes", "no", "hide", or a name (an existing concept or a new one). A skip is no
    change to the album: `skip` below keeps it for the command line."""
    store, model = session.store(), session.embedder.model_id
    if word == "skip":
        raise ValueError("a skip is not an answer that changes anything: use `skip`")
    if asked.kind == "group":
        done = review.answer_group(store, model, asked, word, info, category)
    else:
        done = review.answer_match(store, asked, word, info, category)
    named = word not in ("no", "hide")  # a naming or a confirmation adds a concept's photo (or a concept)
    changes = Changes(**_CHANGED, concepts=named, exemplars=named, names=(done.concept,) if done.concept else ())
    return Done(done, followed(session, changes))


def skip(session: Session, question_id: str) -> review.Answered:
    """Set a question aside (stored: the command line asks in separate runs) until `review next --again`."""
    store = session.store()
    with store.transaction():
        hidden_table.skip(store, question_id)
    return review.Answered(question_id, "skip", None, None, f"{question_id} skipped: not asked again for now")


def skipped(session: Session) -> set[str]:
    return hidden_table.skipped(session.store())


def ask_again(session: Session) -> int:
    """Skipped questions are asked again; how many there were."""
    store = session.store()
    with store.transaction():
        return hidden_table.clear_skipped(store)
