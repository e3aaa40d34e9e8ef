"""Generate: retrieval -> the exact RAP prompt -> the generator. Caption, ask, text-only, chat.

One class with plain calls; the CLI and the GUI both drive it. Each call is two halves: `prepare*`
(retrieval and the concepts' images: store side) and `generate` (the generator only, no store), so the
GUI can run them on different worker threads.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image

from .cancel import CancelToken
from .images import LoadedImage, crop_original, fit_within, load_working
from .mentions import mentioned, related_names
from .models.generator import DEFAULT_OPTIONS, Answer, GenerationOptions, RapGenerator
from .photo_context import PhotoContext
from .prompting import (
    ConceptRef,
    Conversation,
    build_user_turn,
    caption_question,
    grounding_question,
    parse_box,
    parse_yes_no,
    recognition_question,
)
from .retrieval import ChosenConcept, RetrievalResult, Retriever
from .store import Store


@dataclass(frozen=True)
class Reply:
    answer: Answer
    conversation: Conversation  # with the answer added: ask() on it for a follow-up
    concepts: tuple[ChosenConcept, ...]
    retrieval: RetrievalResult | None
    model: str

    @property
    def text(self) -> str:
        return self.answer.text

    @property
    def prompt(self) -> str:
        """The exact first user turn the model saw, image tokens included."""
        return self.conversation.first.text


@dataclass(frozen=True)
class RelatedConcept(ChosenConcept):
    """A concept brought along because the description of one already chosen (`via`) names it."""

    via: str = ""


@dataclass(frozen=True)
class Prepared:
    """A question ready for the generator: the store side of a call, done."""

    conversation: Conversation  # waiting for its answer
    concepts: tuple[ChosenConcept, ...]
    retrieval: RetrievalResult | None

    @property
    def prompt(self) -> str:
        return self.conversation.first.text


# Longest side of an image handed to the generator: twice LLaVA's 336-px vision input (its own
# processor does the last resize; given a 12-MP photo it would pad and resize all of it on the CPU).
PROMPT_SIDE = 672
_CONCEPT_IMAGES = 64  # concepts' prompt images kept (a few hundred KB each)
_cache_lock = threading.Lock()
_concept_images: OrderedDict[tuple, Image.Image] = OrderedDict()
_last_photo: list[tuple[tuple, LoadedImage]] = []


def prompt_image(image: Image.Image) -> Image.Image:
    """What the generator is given for a photo: at most PROMPT_SIDE on its longest side. Its
    processor resizes it to the vision tower's input again (336 px), so a working image of 2000 px
    is box-reduced by 2 first (gap 1.4): half the time of one bicubic pass over all of it."""
    return fit_within(image, PROMPT_SIDE, gap=1.4)


def question_photo(path: str | os.PathLike[str]) -> LoadedImage:
    """The photo a question is about, decoded at working size; asked again about the same unchanged
    file (the photo on screen), the same decode is reused instead of reading the file again."""
    info = os.stat(path)
    key = (os.path.realpath(path), info.st_size, info.st_mtime_ns)
    with _cache_lock:
        if _last_photo and _last_photo[0][0] == key:
            return _last_photo[0][1]
    loaded = load_working(path)
    with _cache_lock:
        _last_photo[:] = [(key, loaded)]
    return loaded


def concept_image(store: Store, name: str) -> Image.Image:
    """The concept's first registered photo (cropped to its box): what RAP shows the model, prepared
    once per exemplar (stored images are named by their content hash, so (file, box) names the
    pixels: a changed exemplar is another key) from a reduced decode."""
    exemplar = store.exemplars(name)[0]
    key = (str(store.home), exemplar.id, exemplar.image, tuple(exemplar.box) if exemplar.box else None)
    with _cache_lock:
        cached = _concept_images.get(key)
        if cached is not None:
            _concept_images.move_to_end(key)
            return cached
    loaded = load_working(store.image_path(exemplar.image))
    image = prompt_image(crop_original(loaded, exemplar.box, min_side=PROMPT_SIDE // 2))
    with _cache_lock:
        _concept_images[key] = image
        while len(_concept_images) > _CONCEPT_IMAGES:
            _concept_images.popitem(last=False)
    return image


class Assistant:
    def __init__(self, store: Store, retriever: Retriever, generator: RapGenerator, template: str) -> None:
        self.store = store
        self.retriever = retriever
        self.generator = generator
        self.template = template
        # bring the concepts a chosen one's description names (off: the reference's prompts, e.g. to
        # measure against the paper)
        self.relations = True

    def _concept_image(self, name: str) -> Image.Image:
        """The concept's first registered photo (cropped to its box): what RAP shows the model."""
        return concept_image(self.store, name)

    def concept_refs(self, chosen: tuple[ChosenConcept, ...]) -> list[ConceptRef]:
        infos = {c.id: c.info for c in self.store.list_concepts()}
        return [ConceptRef(c.name, infos.get(c.concept_id, ""), self._concept_image(c.name)) for c in chosen]

    def with_relations(self, chosen: Sequence[ChosenConcept], limit: int) -> tuple[ChosenConcept, ...]:
        """`chosen` (at most `limit`), then the concepts their descriptions relate them to ("<anna> is
        <bo>'s sister"), one step, while there is room: below everything the question named or the photo
        showed, never past `limit` (the model's concept limit)."""
        kept = list(chosen[:limit])
        if len(kept) >= limit or not self.relations:
            return tuple(kept)
        concepts = self.store.list_concepts()
        by_id, by_name = {c.id: c for c in concepts}, {c.name: c for c in concepts}
        for first in tuple(kept):
            concept = by_id.get(first.concept_id)
            for name in related_names(concept.info, concept.name, by_name) if concept else ():
                if len(kept) < limit and all(c.concept_id != by_name[name].id for c in kept):
                    kept.append(RelatedConcept(name, by_name[name].id, "relation", via=concept.name))
        return tuple(kept)

    def _most(self) -> int:
        """Concepts a question about a photo gets: as `retrieve(top_k=limit)` counts them."""
        limit = self.generator.concept_limit
        return min(limit or self.retriever.limit, self.retriever.limit)

    def prepare(self, photo: LoadedImage, question: str, path: str | None = None) -> Prepared:
        """Store side of `ask`: retrieval, then the exact RAP user turn with the concepts' images."""
        limit = self.generator.concept_limit
        retrieval = self.retriever.retrieve(photo, question, top_k=limit, path=path)
        chosen = self.with_relations(retrieval.concepts, self._most())
        refs = self.concept_refs(chosen)
        turn = build_user_turn(question, refs, query_image=prompt_image(photo.image), limit=limit)
        return Prepared(Conversation.start(self.template, turn), chosen, retrieval)

    def prepare_seen(self, context: PhotoContext, question: str) -> Prepared:
        """`prepare` for a photo already decoded and retrieved (the one on screen): only the concepts
        are chosen again, for this question; nothing is read, detected, embedded or written."""
        limit, most = self.generator.concept_limit, self._most()
        found = self.retriever.choose(context.retrieval.regions, question, most)
        retrieval = dataclasses.replace(context.retrieval, concepts=found)
        chosen = self.with_relations(found, most)
        refs = self.concept_refs(chosen)
        turn = build_user_turn(question, refs, query_image=prompt_image(context.photo.image), limit=limit)
        return Prepared(Conversation.start(self.template, turn), chosen, retrieval)

    def prepare_text_only(self, question: str) -> Prepared:
        """Store side of `ask_text_only`: the concepts the question names are the context."""
        by_name = {c.name: c.id for c in self.store.list_concepts()}
        named = tuple(ChosenConcept(n, by_name[n], "mention") for n in mentioned(question, by_name))
        chosen = self.with_relations(named, self.generator.concept_limit)
        turn = build_user_turn(question, self.concept_refs(chosen), limit=self.generator.concept_limit)
        return Prepared(Conversation.start(self.template, turn), chosen, None)

    @staticmethod
    def prepare_follow_up(reply: Reply, question: str) -> Prepared:
        """The next chat turn needs no store: images stay on the first turn only."""
        return Prepared(reply.conversation.ask(question), reply.concepts, reply.retrieval)

    def generate(
        self,
        prepared: Prepared,
        options: GenerationOptions = DEFAULT_OPTIONS,
        on_text: Callable[[str], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> Reply:
        """Generator side: touches no store (safe on a thread of its own)."""
        conversation = prepared.conversation
        answer = self.generator.generate(conversation.prompt(), conversation.images, options, on_text, cancel)
        return Reply(
            answer,
            conversation.add_answer(answer.text),
            prepared.concepts,
            prepared.retrieval,
            self.generator.spec.name,
        )

    def generate_batch(
        self,
        prepared: Sequence[Prepared],
        options: GenerationOptions = DEFAULT_OPTIONS,
        cancel: CancelToken | None = None,
    ) -> list[Reply]:
        """Generator side of several questions in one batch (album captions): greedy answers equal
        `generate`'s one by one; nothing streamed."""
        conversations = [p.conversation for p in prepared]
        answers = self.generator.generate_batch([(c.prompt(), c.images) for c in conversations], options, cancel)
        name = self.generator.spec.name
        return [
            Reply(answer, c.add_answer(answer.text), p.concepts, p.retrieval, name)
            for answer, c, p in zip(answers, conversations, prepared, strict=True)
        ]

    def ask(
        self,
        photo: LoadedImage,
        question: str,
        options: GenerationOptions = DEFAULT_OPTIONS,
        on_text: Callable[[str], None] | None = None,
        cancel: CancelToken | None = None,
        path: str | None = None,
    ) -> Reply:
        return self.generate(self.prepare(photo, question, path), options, on_text, cancel)

    def caption(self, photo: LoadedImage, **kwargs) -> Reply:
        return self.ask(photo, caption_question(), **kwargs)

    def ask_text_only(
        self,
        question: str,
        options: GenerationOptions = DEFAULT_OPTIONS,
        on_text: Callable[[str], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> Reply:
        """A question about concepts, no photo: the concepts it names are the context."""
        return self.generate(self.prepare_text_only(question), options, on_text, cancel)

    def follow_up(self, reply: Reply, question: str, **kwargs) -> Reply:
        """The next chat turn: images stay on the first turn only."""
        return self.generate(self.prepare_follow_up(reply, question), **kwargs)

    def recognise(self, photo: LoadedImage, name: str, **kwargs) -> tuple[bool | None, Reply]:
        reply = self.ask(photo, recognition_question(name), **kwargs)
        return parse_yes_no(reply.text), reply

    def ground(self, photo: LoadedImage, name: str, **kwargs) -> tuple[tuple[float, ...] | None, Reply]:
        reply = self.ask(photo, grounding_question(name), **kwargs)
        width, height = photo.size
        return parse_box(reply.text, width, height), reply
