"""Assistant's two halves (prepare on the store side, generate on the model side) give what ask() gives,
and generate needs no store."""

from __future__ import annotations

from rap_desktop.core.images import load_image
from rap_desktop.core.models.generator import GenerationOptions

OPTIONS = GenerationOptions(max_new_tokens=6)


def test_prepare_then_generate_equals_ask(session, photos) -> None:
    store = session.store()
    store.add_concept("chelsea", photos["chelsea"], "<chelsea> is a tabby cat.", "cat")
    assistant = session.assistant()
    photo = load_image(photos["chelsea"])
    question = "What is <chelsea> doing?"

    whole = assistant.ask(photo, question, OPTIONS)
    prepared = assistant.prepare(photo, question)
    assert prepared.conversation.waiting and prepared.prompt == whole.prompt
    assert prepared.concepts == whole.concepts and prepared.concepts[0].name == "chelsea"
    assert prepared.retrieval is not None and prepared.retrieval.size == photo.size

    session.close()  # the model side must not need the store
    split = assistant.generate(prepared, OPTIONS)
    assert split.text == whole.text  # greedy: the same prompt gives the same answer
    assert split.conversation.turns == whole.conversation.turns

    follow = assistant.prepare_follow_up(split, "And now?")
    assert follow.conversation.turns[-1] == ("user", "And now?") and follow.retrieval is prepared.retrieval
    again = assistant.generate(follow, OPTIONS)
    assert len(again.conversation.turns) == 4 and again.prompt == whole.prompt


def test_prepare_text_only_uses_named_concepts(session, photos) -> None:
    session.store().add_concept("bo", photos["coffee"], "<bo> is a white cup.", "cup")
    assistant = session.assistant()
    prepared = assistant.prepare_text_only("Describe bo.")
    assert [(c.name, c.reason) for c in prepared.concepts] == [("bo", "mention")]
    assert prepared.retrieval is None and prepared.prompt.startswith("[0.<image>\n Name: <bo>")
    reply = assistant.generate(prepared, OPTIONS)
    assert reply.prompt == assistant.ask_text_only("Describe bo.", OPTIONS).prompt


def test_prompt_images_are_reduced_and_concept_images_prepared_once_per_exemplar(session, photos, tmp_path) -> None:
    from PIL import Image

    from rap_desktop.core.assistant import PROMPT_SIDE, question_photo

    big = tmp_path / "big-chelsea.jpg"  # a photo bigger than the generator needs
    with Image.open(photos["chelsea"]) as image:
        image.convert("RGB").resize((2700, 1800)).save(big, quality=90)
    store = session.store()
    store.add_concept("chelsea", big, "<chelsea> is a tabby cat.", "cat")
    assistant = session.assistant()
    photo = question_photo(big)
    assert question_photo(big) is photo  # the photo on screen, asked about again: the same decode
    first = assistant.prepare(photo, "What is <chelsea> doing?")
    query, concept = first.conversation.images
    assert max(query.size) <= PROMPT_SIDE and max(concept.size) <= PROMPT_SIDE
    again = session.assistant().prepare(photo, "And <chelsea>?")  # a new Assistant, as each GUI question makes
    assert again.conversation.images[1] is concept  # prepared once for this exemplar
    store.add_exemplar("chelsea", photos["coffee"])
    store.remove_exemplar(store.exemplars("chelsea")[0].id)  # the concept's photo is another one now
    changed = session.assistant().prepare(photo, "And now <chelsea>?").conversation.images[1]
    with Image.open(photos["coffee"]) as coffee:
        assert changed is not concept and changed.size == coffee.size  # prepared afresh from the new exemplar
