"""Album captioning in steps a GUI runs on different threads: `plan` and
`prepare` and `save` read or write the store, `generate` uses the generator only, `write_sidecar`
touches files only. Between two steps nothing is held, so concept edits go on during a long run.
Names are those valid when each thing is written: `save` reads the photo's concepts again in the
transaction that stores the caption (a rename since `prepare` retags the text), and the sidecar is
written with the names the store holds at that moment (`names_now`, read again after the write:
`write_sidecar_now`), so a rename made meanwhile by this process or another one is kept.
Photos are prepared and saved one by one and generated several at a time (`generate_batch`).

The same rules as `caption.caption_folder` (the CLI's one-call loop): concepts come from the
stored matches, a photo whose file changed since indexing is refused, a stored caption is reused
unless forced, and the photo itself is never rewritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from .. import xmp
from ..assistant import Assistant, Prepared, Reply, prompt_image
from ..cancel import CancelToken
from ..errors import RapError
from ..images import load_working
from ..models.generator import DEFAULT_OPTIONS, GenerationOptions
from ..prompting import Conversation, build_user_turn, caption_question
from ..retrieval import ChosenConcept
from ..store import Store, captions
from ..store import album as album_store
from ..store.matches import accepted_in_photo
from ..store.merge import retag
from ..store.photos import photo_sha256
from . import renames


def accepted(store: Store, photo_id: int) -> list[tuple[ChosenConcept, xmp.Region]]:
    """The photo's accepted concepts, confirmed first then by similarity, one entry per region."""
    return [
        (ChosenConcept(name, cid, "region", f"r{ordinal}", sim), xmp.Region(name, category, (x1, y1, x2, y2)))
        for cid, name, category, ordinal, x1, y1, x2, y2, sim, _ in accepted_in_photo(store, photo_id)
    ]


@dataclass(frozen=True)
class Item:
    photo_id: int
    path: str
    captioned: bool  # a caption is stored already


@dataclass(frozen=True)
class Step:
    """One photo, read and ready: `prepared` is None when its stored caption `text` is reused."""

    item: Item
    size: tuple[int, int]
    names: tuple[str, ...]
    regions: tuple[xmp.Region, ...]
    text: str | None
    prepared: Prepared | None
    ids: tuple[int, ...] = ()  # the concept id of each of `names`
    region_ids: tuple[int, ...] = ()  # the concept id of each of `regions`


def plan(store: Store, folder: str) -> list[Item]:
    """The indexed photos under `folder`, in taken order, each with whether it has a caption."""
    ids = album_store.album_photo_ids(store, folder)
    paths = album_store.photo_paths(store, ids)
    done = captions.captioned(store)
    return [Item(pid, paths.get(pid, ""), pid in done) for pid in ids]


def needs_generator(items: list[Item], force: bool) -> bool:
    return force or any(not item.captioned for item in items)


def prepare(store: Store, assistant: Assistant | None, item: Item, force: bool) -> Step:
    """Store side of one photo: the file (checked against what was indexed), its accepted concepts
    and regions, and the exact caption prompt when a caption is to be made (`assistant` needed then)."""
    found = accepted(store, item.photo_id)
    named = _named(store, item, found)
    loaded = load_working(item.path)
    sha256 = photo_sha256(store, item.photo_id)
    if sha256 is None:
        raise RapError("the photo was removed from the album meanwhile")
    if loaded.sha256 != sha256:
        raise RapError("the file changed since it was indexed; index the folder again")
    stored = captions.caption(store, item.photo_id)
    if stored is not None and not force:
        return replace(named, size=loaded.size, text=stored)
    if assistant is None:
        raise RapError("the generator is not loaded")
    limit = assistant.generator.concept_limit
    best: dict[int, ChosenConcept] = {}
    for concept, _ in found:  # best region per concept, in the order found
        best.setdefault(concept.concept_id, concept)
    chosen = assistant.with_relations(tuple(best.values()), limit)  # and whom their descriptions name
    turn = build_user_turn(
        caption_question(), assistant.concept_refs(chosen), query_image=prompt_image(loaded.image), limit=limit
    )
    prepared = Prepared(Conversation.start(assistant.template, turn), chosen, None)
    return replace(named, size=loaded.size, prepared=prepared)


def _named(store: Store, item: Item, found: list[tuple[ChosenConcept, xmp.Region]]) -> Step:
    """A step with the photo's concepts as they are now (no size, text or prompt yet)."""
    ids = {c.name: c.concept_id for c, _ in found}
    names = tuple(ids)
    return Step(
        item,
        (0, 0),
        names,
        tuple(region for _, region in found),
        None,
        None,
        tuple(ids[n] for n in names),
        tuple(c.concept_id for c, _ in found),
    )


def generate(
    assistant: Assistant, step: Step, options: GenerationOptions = DEFAULT_OPTIONS, cancel: CancelToken | None = None
) -> Reply:
    """Generator side: no store. A cancelled answer comes back with `answer.cancelled` set."""
    if step.prepared is None:
        raise ValueError("this photo keeps its stored caption: nothing to generate")
    return assistant.generate(step.prepared, options, cancel=cancel)


def generate_batch(
    assistant: Assistant,
    steps: list[Step],
    options: GenerationOptions = DEFAULT_OPTIONS,
    cancel: CancelToken | None = None,
) -> list[Reply]:
    """Generator side of several photos in one generate call; each reply as `generate` gives it alone
    (greedy). A cancel marks every reply cancelled."""
    if any(step.prepared is None for step in steps):
        raise ValueError("a photo that keeps its stored caption has nothing to generate")
    return assistant.generate_batch([step.prepared for step in steps], options, cancel)  # type: ignore[misc]


def prompt_images(step: Step) -> int:
    """Images in the photo's caption prompt (the photo and its concepts): the batch key, since
    prompts with as many images are about as long."""
    return len(step.prepared.conversation.images) if step.prepared is not None else 0


def batch_size(assistant: Assistant, options: GenerationOptions = DEFAULT_OPTIONS, override: int = 0) -> int:
    """Photos per generate call: `override` when > 0, else from the free GPU memory (a few on a CPU)."""
    return assistant.generator.caption_batch_size(options.max_new_tokens, override)


def save(store: Store, step: Step, reply: Reply) -> str:
    """Store the caption (a cancelled, partial answer is refused); returns the text."""
    if reply.answer.cancelled:
        raise RapError("cancelled before the caption was complete")
    with store.transaction():  # the names read and the caption stored at one moment
        now = _named(store, step.item, accepted(store, step.item.photo_id))
        text = _retagged(store, step, reply.text.strip())
        captions.write_caption(store, step.item.photo_id, text, reply.model, list(now.names))
    return text


def _retagged(store: Store, step: Step, text: str) -> str:
    """`<name>` of each concept the prompt named, renamed or merged since, says its name now."""
    chosen = step.prepared.concepts if step.prepared is not None else ()
    was = {c.concept_id: c.name for c in chosen} | dict(zip(step.ids, step.names, strict=True))
    now = renames.names_now(store, was)
    for concept_id, name in was.items():
        current = now.get(concept_id)
        if current is not None and current != name:
            text = retag(text, name, current)
    return text


Names = Mapping[int, str]  # concept id -> its name when the sidecar is written


def names_now(store: Store, step: Step) -> Names:
    """Store side, just before (and just after) the sidecar is written: the name each of the step's
    concepts has now, in this process or any other (a rename, a merge)."""
    return renames.names_now(store, (*step.ids, *step.region_ids))


def write_sidecar(step: Step, text: str, style: str = "ext", names: Names | None = None) -> str:
    """File side: the caption, names and regions into the photo's XMP sidecar (merged, never the
    photo), each concept under its name in `names` (as read when prepared, when None)."""
    try:
        with renames.writing():
            found, regions, text = _current(step, text, names or {})
            return str(xmp.write_sidecar(step.item.path, step.size, text, found, regions, style))
    except OSError as exc:
        raise RapError(f"cannot write the sidecar: {exc.strerror or exc}") from None


def write_sidecar_now(store: Store, step: Step, text: str, style: str = "ext") -> str:
    """Both sides in one thread (the CLI): `write_sidecar` with the names read from the store at
    that moment, written again while they changed meanwhile. A rename committed after the second
    read rewrites this file itself (its rewrite starts after its commit), so no old name stays."""
    names = names_now(store, step)
    for _ in range(WRITE_TRIES):
        path = write_sidecar(step, text, style, names)
        again = names_now(store, step)
        if again == names:
            break
        names = again
    return path


WRITE_TRIES = 3  # renames in a row during one photo's write are rarer still


def _current(step: Step, text: str, names: Names) -> tuple[list[str], list[xmp.Region], str]:
    """The step's names, regions and caption with each concept's name from `names`."""

    def now(concept_id: int, name: str) -> str:
        return names.get(concept_id, name)

    found = list(dict.fromkeys(now(i, n) for i, n in zip(step.ids, step.names, strict=True)))
    regions = [replace(r, name=now(i, r.name)) for i, r in zip(step.region_ids, step.regions, strict=True)]
    for concept_id, name in zip(step.ids, step.names, strict=True):
        if now(concept_id, name) != name:
            text = retag(text, name, now(concept_id, name))
    return found, regions, text
