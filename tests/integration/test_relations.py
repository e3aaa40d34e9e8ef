"""Relations and facts in the memory: a concept whose description names another brings it along as RAP
context (below what the question named or the photo showed, within the model's concept limit); the
prompts are inspected as built for the tiny generator, in the reference format."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from rap_desktop.core.album import caption_steps
from rap_desktop.core.album.indexer import Indexer
from rap_desktop.core.assistant import RelatedConcept, concept_image
from rap_desktop.core.images import load_image
from rap_desktop.core.retrieval import ChosenConcept

BO = "<bo> is a Shiba Inu, born 3 May 2019. <anna> walks him every morning; Carl is his vet."
ANNA = "<anna> is <bo>'s owner and Carl's sister."
CARL = "<carl> is a vet."


def _family(store, photos) -> None:
    store.add_concept("bo", photos["chelsea"], BO, "dog")
    store.add_concept("anna", photos["astronaut"], ANNA, "person")
    store.add_concept("Carl", photos["grace_hopper"], CARL, "person")


def test_a_question_naming_a_concept_brings_whom_its_description_names(session, photos) -> None:
    store = session.store()
    _family(store, photos)
    assistant = session.assistant()
    assert assistant.generator.concept_limit == 2
    prepared = assistant.prepare_text_only("Who is with <bo>?")
    assert [(c.name, c.reason) for c in prepared.concepts] == [("bo", "mention"), ("anna", "relation")]
    assert isinstance(prepared.concepts[1], RelatedConcept) and prepared.concepts[1].via == "bo"
    # the reference format, numbered from 0 without a query image; Carl (named after Anna) has no room
    assert prepared.prompt == (
        f"[0.<image>\n Name: <bo>, Info: {BO}\n1.<image>\n Name: <anna>, Info: {ANNA}\n]Who is with <bo>?"
    )
    images = prepared.conversation.images
    assert len(images) == 2 and images[1] is concept_image(store, "anna")
    assert prepared.conversation.first.dropped == ()  # never over the limit

    # a concept whose description names no one: the exact reference prompt, byte for byte
    store.add_concept("mug", photos["coffee"], "<mug> is a white cup.", "cup")
    plain = assistant.prepare_text_only("Describe <mug>.")
    assert plain.prompt == "[0.<image>\n Name: <mug>, Info: <mug> is a white cup.\n]Describe <mug>."
    assert [c.name for c in plain.concepts] == ["mug"]
    # a question that fills the limit itself gets nothing more
    full = assistant.prepare_text_only("Is <mug> near <carl>?")
    assert [(c.name, c.reason) for c in full.concepts] == [("mug", "mention"), ("Carl", "mention")]


def test_relations_rank_below_the_chosen_and_stop_at_the_limit(session, photos) -> None:
    store = session.store()
    _family(store, photos)
    assistant = session.assistant()
    ids = {c.name: c.id for c in store.list_concepts()}
    bo = ChosenConcept("bo", ids["bo"], "region", "r1", 0.9)
    three = assistant.with_relations((bo,), 3)  # RAP-Phi3's limit: both people bo's description names
    assert [(c.name, c.reason) for c in three] == [("bo", "region"), ("anna", "relation"), ("Carl", "relation")]
    anna = ChosenConcept("anna", ids["anna"], "mention")
    # anna's description names bo and Carl (in that order); bo is already there, so Carl comes next
    assert [c.name for c in assistant.with_relations((anna, bo), 3)] == ["anna", "bo", "Carl"]
    assert assistant.with_relations((anna, bo), 2) == (anna, bo)
    assert assistant.with_relations((bo,), 1) == (bo,)
    assistant.relations = False  # the reference's behaviour, when asked for
    assert assistant.with_relations((bo,), 3) == (bo,)
    assistant.relations = True
    store.edit_concept("bo", info="<bo> is a Shiba Inu.")  # the description changed: the relation is gone
    assert assistant.with_relations((bo,), 3) == (bo,)


def test_a_photo_question_brings_the_relations_of_what_retrieval_found(session, photos) -> None:
    store = session.store()
    _family(store, photos)
    assistant = session.assistant()
    assistant.retriever.threshold = 0.999  # random weights: only bo's own photo is recognised as bo
    photo = load_image(photos["chelsea"])  # bo's own photo: retrieval finds bo in it
    prepared = assistant.prepare(photo, "What is happening?")
    assert [(c.name, c.reason) for c in prepared.concepts] == [("bo", "region"), ("anna", "relation")]
    assert prepared.retrieval is not None and [c.name for c in prepared.retrieval.concepts] == ["bo"]
    assert prepared.prompt == (
        f"<image>\n[1.<image>\n Name: <bo>, Info: {BO}\n2.<image>\n Name: <anna>, Info: {ANNA}\n]What is happening?"
    )


def test_album_captions_bring_relations_too(session, photos, tmp_path: Path) -> None:
    store = session.store()
    _family(store, photos)
    album = tmp_path / "album"
    album.mkdir()
    Image.open(photos["chelsea"]).convert("RGB").save(album / "bo.jpg", quality=95)
    retriever = session.retriever()
    retriever.threshold = 0.999  # random weights: only bo's own photo is recognised as bo
    assert Indexer(retriever, workers=0).index([album]).indexed == 1
    (item,) = caption_steps.plan(store, str(album))
    step = caption_steps.prepare(store, session.assistant(), item, force=False)
    assert step.prepared is not None
    assert [(c.name, c.reason) for c in step.prepared.concepts][:1] == [("bo", "region")]
    assert ("anna", "relation") in [(c.name, c.reason) for c in step.prepared.concepts]
    assert f"Name: <anna>, Info: {ANNA}\n]Give a caption of the image." in step.prepared.prompt
