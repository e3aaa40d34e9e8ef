"""The "Who's this?" queue: what most needs a person, one question at a time.

First the unknown groups, largest first ("Who is this?", or "Is this Bo?" when one concept comes
near), then the uncertain matches: automatic matches just over the threshold, or with a second concept
almost as close ("Is this Bo?"), least sure first. Hidden regions are never asked about; skipped
questions are left out until asked again.

A question's id says what it is about and stays valid while that does: "g<group id>" (the stable
id of an unknown group, as `groups list` shows it) or "m<region id>" (a region's automatic match).
Every answer but skip is one entry in the correction log (`match undo` takes it back):
yes / NAME for a group names it (`groups.name_members`), no rejects the suggested concept for each
member, hide hides it (`hiding`); for a match yes confirms, no rejects, NAME reassigns, hide rejects
the match and hides the region in one step.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import corrections, group_naming, groups, hiding, names
from .errors import NotFoundError, RapError
from .store import Store
from .store import corrections as log_table
from .store import hidden as hidden_table
from .store import review as review_table
from .store.photos import photos_of_regions

MARGIN = 0.03  # an accepted match this close to the threshold is asked about
CLOSE = 0.02  # ... or one with another concept this close to it
SUGGEST = 0.1  # a group is asked "Is this NAME?" when NAME comes this close to the threshold
PER_QUESTION = 6  # example regions shown per question
WORDS = ("yes", "no", "skip", "hide")


@dataclass(frozen=True)
class Settings:
    """How the queue is built: the acceptance threshold and the groups' clustering."""

    threshold: float
    group_threshold: float = 0.9
    min_size: int = 3


@dataclass(frozen=True)
class Question:
    id: str  # "g12" (an unknown group) or "m345" (a region's match)
    kind: str  # "group" or "match"
    suggested: str | None  # the name asked about ("Is this Bo?"), None: "Who is this?"
    other: str | None  # a second concept almost as close (a match question)
    similarity: float | None
    regions: tuple[int, ...]  # every region the answer applies to
    photos: int
    label: str  # the detector's word (the suggested category of a new concept)
    samples: tuple[group_naming.Sample, ...]  # what to show: regions from different photos first

    @property
    def text(self) -> str:
        """The question in plain words."""
        return f"Is this {self.suggested}?" if self.suggested else "Who is this?"


@dataclass(frozen=True)
class Answered:
    question: str
    answer: str  # yes, no, skip, hide, or "name" (It's NAME)
    concept: str | None  # the concept the answer named, confirmed or rejected
    correction: int | None  # the correction-log row that takes it back (None: a skip)
    text: str  # what was done, for the CLI and the status line


def _concept_name(store: Store, concept_id: int | None) -> str | None:
    return store.concept_names([concept_id]).get(concept_id) if concept_id is not None else None


def _group_question(store: Store, model: str, settings: Settings, group: groups.Group) -> Question:
    shown = group_naming.describe(store, model, [group], PER_QUESTION)[0]
    near = review_table.nearest_concept(store, group.regions)
    suggested = None
    if near is not None and near[1] >= settings.threshold - SUGGEST:
        suggested = _concept_name(store, near[0])
    similarity = near[1] if suggested else None
    return Question(
        f"g{group.id}", "group", suggested, None, similarity, group.regions, group.photos, shown.label, shown.samples
    )


def _match_question(store: Store, model: str, row: tuple) -> Question | None:
    region, concept, similarity, _second, other = row
    found = group_naming.describe(store, model, [groups.Group(0, (region,), 1, 1.0)], 1)[0]
    if not found.samples:
        return None
    return Question(
        f"m{region}",
        "match",
        _concept_name(store, concept),
        _concept_name(store, other),
        similarity,
        (region,),
        1,
        found.label,
        found.samples,
    )


def queue(
    store: Store,
    model: str,
    settings: Settings,
    skipped: set[str] | frozenset[str] = frozenset(),
    limit: int = 50,
    reuse: bool = True,
) -> list[Question]:
    """Up to `limit` questions, most needed first (groups, then uncertain matches). The groups' listing
    is reused between answers (`groups.find_groups`); `reuse=False` clusters again and tests every
    match (the way before, kept to compare)."""
    found = groups.find_groups(store, model, settings.group_threshold, settings.min_size, reuse=reuse)
    wanted = [g for g in found if f"g{g.id}" not in skipped][:limit]
    out = [_group_question(store, model, settings, g) for g in wanted]
    if len(out) < limit:
        rows = review_table.uncertain_matches(
            store, model, settings.threshold, MARGIN, CLOSE, limit + len(skipped), scan=not reuse
        )
        for row in rows:
            if f"m{row[0]}" in skipped or len(out) >= limit:
                continue
            question = _match_question(store, model, row)
            if question is not None:
                out.append(question)
    return out


def ahead(
    store: Store,
    model: str,
    settings: Settings,
    skipped: set[str] | frozenset[str] = frozenset(),
    limit: int = 50,
) -> tuple[Question | None, int]:
    """The question to ask now (as `next_question`) and how many are waiting, this one included (counted
    up to `limit`): the window shows one and says how many follow, without building them all."""
    found = groups.find_groups(store, model, settings.group_threshold, settings.min_size)
    wanted = [g for g in found if f"g{g.id}" not in skipped]
    first = _group_question(store, model, settings, wanted[0]) if wanted else None
    waiting = len(wanted)
    if waiting < limit:
        rows = review_table.uncertain_matches(store, model, settings.threshold, MARGIN, CLOSE, limit + len(skipped))
        rows = [row for row in rows if f"m{row[0]}" not in skipped]
        waiting += len(rows)
        for row in rows if first is None else ():
            first = _match_question(store, model, row)
            if first is not None:
                break
    return first, min(waiting, limit) if first is not None else 0


def next_question(
    store: Store, model: str, settings: Settings, skipped: set[str] | frozenset[str] = frozenset(), reuse: bool = True
) -> Question | None:
    """The question that most needs a person now, or None."""
    found = queue(store, model, settings, skipped, limit=1, reuse=reuse)
    return found[0] if found else None


def question(store: Store, model: str, settings: Settings, question_id: str) -> Question:
    """The question `question_id` as it stands now (a group as it was listed, a match as it is stored)."""
    kind, number = question_id[:1].lower(), question_id[1:]
    if kind not in ("g", "m") or not number.isdigit():
        raise RapError(f"{question_id!r} is not a question id (g12 for a group, m345 for a match)")
    if kind == "g":
        model_listed, ids = groups.stored_group(store, int(number))
        hidden = hidden_table.hidden_region_ids(store, ids)
        present = tuple(r for r in ids if r not in hidden)
        if not present:
            raise NotFoundError(f"group {number} is hidden or gone; ask for the next question")
        photos = len(set(photos_of_regions(store, list(present))))
        return _group_question(store, model_listed, settings, groups.Group(int(number), present, photos, 0.0))
    match = review_table.region_match(store, int(number))
    if match is None or hidden_table.hidden_region_ids(store, [int(number)]):
        raise NotFoundError(f"region {number} has no match left to ask about; ask for the next question")
    asked = _match_question(store, model, (int(number), match[0], match[1], None, None))
    if asked is None:
        raise NotFoundError(f"region {number} no longer exists; ask for the next question")
    return asked


# --- answers -------------------------------------------------------------------------------------


def _reject_group(store: Store, asked: Question, model: str) -> Answered:
    if not asked.suggested:
        raise RapError("no name was suggested to say no to: answer with a name, skip or hide")
    concept = store.get_concept(asked.suggested)
    members = groups.member_regions(store, list(asked.regions))
    with store.transaction():
        parts = [corrections._reject_rows(store, region, concept.id, "rejected") for region, _, _ in members]
        log_id = log_table.log(store, "reject_group", {"members": parts, "concept": concept.id})
    return Answered(asked.id, "no", concept.name, log_id, f"{len(parts)} regions are not {names.tag(concept.name)}")


def _hide_match(store: Store, asked: Question) -> Answered:
    """A stranger taken for a concept: the match is rejected and the region hidden, as one correction."""
    region = groups.member_regions(store, list(asked.regions))[0][0]
    concept = store.get_concept(asked.suggested) if asked.suggested else None
    with store.transaction():
        payload = corrections._reject_rows(store, region, concept.id, "rejected") if concept else {}
        payload["hidden"] = hidden_table.hide(store, [region.id], None)
        log_id = log_table.log(store, "hide", payload)
    return Answered(asked.id, "hide", None, log_id, "hidden for good: never asked about again")


def answer_group(store: Store, model: str, asked: Question, word: str, info: str = "", category=None) -> Answered:
    """The store part of an answer about a group (`answer` in core/actions/review.py adds the re-match)."""
    number = int(asked.id[1:])
    if word == "hide":
        hidden = hiding.hide_regions(store, list(asked.regions), number, f"group {number}")
        return Answered(asked.id, "hide", None, hidden.correction, f"{hidden.regions} regions hidden for good")
    if word == "no":
        return _reject_group(store, asked, model)
    if word == "yes" and not asked.suggested:
        raise RapError("no name was suggested to say yes to: answer with a name, skip or hide")
    name = asked.suggested if word == "yes" else word
    named = groups.name_members(store, model, list(asked.regions), name, info, category, what=f"group {number}")
    log_id = log_table.newest_open_id(store)
    text = f"{named.confirmed} regions are {names.tag(named.concept)}" + (" (new)" if named.created else "")
    return Answered(asked.id, "yes" if word == "yes" else "name", named.concept, log_id, text)


def answer_match(store: Store, asked: Question, word: str, info: str = "", category=None) -> Answered:
    """The store part of an answer about one region's match."""
    found = review_table.region_photo(store, asked.regions[0])
    if found is None:
        raise NotFoundError("that region no longer exists; ask for the next question")
    sha256, region_name, _ = found
    if word == "hide":
        return _hide_match(store, asked)
    if word == "yes":
        done = corrections.confirm(store, sha256, region_name, asked.suggested)
    elif word == "no":
        done = corrections.reject(store, sha256, region_name, asked.suggested)
    else:
        done = corrections.reassign(store, sha256, region_name, word, info, category)
    concept = asked.suggested if word in ("yes", "no") else names.clean_name(word)
    return Answered(asked.id, word if word in WORDS else "name", concept, done.id, done.summary)
