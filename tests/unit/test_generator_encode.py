"""The generator tokenizes prompts as RAP was trained (LLaVA's tokenizer_image_token), not as a whole."""

from __future__ import annotations

import pytest

from rap_desktop.core.errors import RapError
from rap_desktop.core.images import load_image
from rap_desktop.core.prompting import ConceptRef, Conversation, build_user_turn


@pytest.fixture
def two_concept_prompt(session, photos):
    query = load_image(photos["chelsea"]).image
    refs = [
        ConceptRef("bo", "<bo> is a cat.", load_image(photos["coffee"]).image),
        ConceptRef("mochi", "<mochi> is a mug.", load_image(photos["rocket"]).image),
    ]
    turn = build_user_turn("What is <bo> doing?", refs, query_image=query, limit=2)
    return Conversation.start("llava_v1", turn)


def _runs(ids: list[int], image_id: int) -> list[tuple[int, int]]:
    """(start, length) of each run of image tokens."""
    runs, start = [], None
    for i, token in enumerate([*ids, -1]):
        if token == image_id and start is None:
            start = i
        elif token != image_id and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


def test_each_image_becomes_one_run_of_vision_features(session, two_concept_prompt) -> None:
    generator = session.generator()
    inputs = generator.encode(two_concept_prompt.prompt(), two_concept_prompt.images)
    ids = inputs["input_ids"][0].tolist()
    tokenizer = generator.processor.tokenizer
    vision = generator.model.config.vision_config
    features = (vision.image_size // vision.patch_size) ** 2  # CLS dropped ("default" strategy)
    image_id = generator.model.config.image_token_id
    runs = _runs(ids, image_id)
    assert [length for _, length in runs] == [features] * 3 == [features] * len(two_concept_prompt.images)
    assert inputs["pixel_values"].shape[0] == 3
    assert ids.count(tokenizer.bos_token_id) == 1 and ids[0] == tokenizer.bos_token_id


def test_text_after_an_image_is_tokenized_as_a_fresh_string(session, two_concept_prompt) -> None:
    generator = session.generator()
    prompt, images = two_concept_prompt.prompt(), two_concept_prompt.images
    ours = generator.encode(prompt, images)["input_ids"][0].tolist()
    whole = generator.processor(text=prompt, images=images, return_tensors="pt")["input_ids"][0].tolist()
    tokenizer = generator.processor.tokenizer
    image_id = generator.model.config.image_token_id
    after = [start + length for start, length in _runs(ours, image_id)]
    # SentencePiece starts every fresh string with its word-start piece: one after each image run...
    assert all(tokenizer.convert_ids_to_tokens(ours[i]).startswith("▁") for i in after)
    # ...which whole-prompt tokenization lacks; otherwise the two agree token for token.
    assert ours != whole
    assert [t for i, t in enumerate(ours) if i not in set(after)] == whole


def test_prompt_and_images_must_agree(session, two_concept_prompt) -> None:
    generator = session.generator()
    with pytest.raises(RapError, match="3 image slots but 2 images"):
        generator.encode(two_concept_prompt.prompt(), two_concept_prompt.images[:2])


def test_text_only_prompt_has_no_pixels(session) -> None:
    generator = session.generator()
    turn = build_user_turn("Who is <bo>?", [], limit=2)
    inputs = generator.encode(Conversation.start("llava_v1", turn).prompt(), [])
    assert "pixel_values" not in inputs
    assert inputs["input_ids"].shape == inputs["attention_mask"].shape
