"""Several prompts in one generate call give, with greedy decoding, exactly the answers each prompt
gives alone: tiny converted RAP-LLaVA and RAP-Phi3 checkpoints in fp32 on the CPU, prompts of
different lengths (0 to 3 concept images), so the batch is left-padded."""

from __future__ import annotations

from pathlib import Path

import pytest

from rap_desktop.core.images import load_image
from rap_desktop.core.models.convert import convert_checkpoint
from rap_desktop.core.models.generator import GenerationOptions, RapGenerator
from rap_desktop.core.models.registry import Registry
from rap_desktop.core.prompting import ConceptRef, Conversation, build_user_turn, caption_question
from rap_desktop.devtools.tiny_rap import write_tiny_rap

SPECS = {"llava_v1": "rap-llava-13b", "phi3_instruct": "rap-phi3-mini"}
OPTIONS = GenerationOptions(max_new_tokens=10)


@pytest.fixture(scope="module", params=sorted(SPECS))
def converted(request, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    template = request.param
    root = tmp_path_factory.mktemp(template)
    tiny = write_tiny_rap(root / "tiny", template)
    return template, convert_checkpoint(tiny.checkpoint, root / "converted", tiny.vision_tower, template)


def _generator(converted, backend: str = "eager") -> RapGenerator:
    template, folder = converted
    return RapGenerator(Registry().get(SPECS[template]), folder, "cpu", "fp32", backend)


def _prompts(template: str, limit: int, photos) -> list[tuple[str, tuple]]:
    """One caption prompt per photo, with 0, 1, 2... concepts (as many as the model takes)."""
    images = [load_image(photos[name]).image for name in ("chelsea", "coffee", "rocket", "astronaut")]
    names = ["bo", "mochi", "tom"]
    out = []
    for i, query in enumerate(images):
        refs = [
            ConceptRef(n, f"<{n}> is ours.", images[(i + k + 1) % 4]) for k, n in enumerate(names[: i % (limit + 1)])
        ]
        turn = build_user_turn(caption_question(), refs, query_image=query, limit=limit)
        conversation = Conversation.start(template, turn)
        out.append((conversation.prompt(), conversation.images))
    return out


def test_batched_greedy_answers_equal_one_at_a_time(converted, photos) -> None:
    generator = _generator(converted)
    prompts = _prompts(converted[0], generator.concept_limit, photos)
    lengths = {int(generator.encode(p, images)["input_ids"].shape[1]) for p, images in prompts}
    assert len(lengths) > 1  # rows of different lengths: the batch is padded
    alone = [generator.generate(p, images, OPTIONS) for p, images in prompts]
    batched = generator.generate_batch(prompts, OPTIONS)
    assert [(a.text, a.tokens) for a in batched] == [(a.text, a.tokens) for a in alone]
    assert len({a.text for a in alone}) > 1  # different photos, different answers: rows are not mixed up


def _new_ids(generator: RapGenerator, prompt: str, images, count: int) -> list[int]:
    """The tokens greedy decoding gives for one prompt (straight from the model)."""
    import torch

    inputs = generator.encode(prompt, images)
    with torch.inference_mode():
        out = generator.model.generate(**inputs, max_new_tokens=count, min_new_tokens=count, do_sample=False)
    return out[0, inputs["input_ids"].shape[1] :].tolist()


def test_a_row_that_stops_early_ends_where_it_ends_alone(converted, photos) -> None:
    generator = _generator(converted)
    prompts = _prompts(converted[0], generator.concept_limit, photos)[:3]
    generator.load()
    ids = _new_ids(generator, *prompts[1], OPTIONS.max_new_tokens)
    stop = next(t for i, t in enumerate(ids) if i >= 2 and t not in ids[:i])  # first seen mid-answer
    generator.model.generation_config.eos_token_id = stop  # row 1 now stops there
    alone = [generator.generate(p, images, OPTIONS) for p, images in prompts]
    batched = generator.generate_batch(prompts, OPTIONS)
    assert alone[1].tokens == ids.index(stop) + 1 < OPTIONS.max_new_tokens  # that row stops early...
    assert [(a.text, a.tokens) for a in batched] == [(a.text, a.tokens) for a in alone]  # ...in the batch too


def test_static_cache_gives_the_eager_answers(converted, photos) -> None:
    if converted[0] != "llava_v1":
        pytest.skip("one model shape is enough for the cache backend")
    eager, static = _generator(converted), _generator(converted, "static")
    prompts = _prompts(converted[0], eager.concept_limit, photos)[:3]
    expected = [eager.generate(p, images, OPTIONS).text for p, images in prompts]
    assert [static.generate(p, images, OPTIONS).text for p, images in prompts] == expected
    assert [a.text for a in static.generate_batch(prompts, OPTIONS)] == expected  # the cache is reused, reset


def test_first_token_time_and_forced_length(converted, photos) -> None:
    if converted[0] != "llava_v1":
        pytest.skip("one model shape is enough")
    generator = _generator(converted)
    prompt, images = _prompts(converted[0], generator.concept_limit, photos)[0]
    generator.load()
    generator.model.generation_config.eos_token_id = _new_ids(generator, prompt, images, 3)[-1]
    assert generator.generate(prompt, images, GenerationOptions(max_new_tokens=7)).tokens <= 3  # stops early...
    forced = generator.generate(prompt, images, GenerationOptions(max_new_tokens=7, min_new_tokens=7))
    assert forced.tokens == 7  # ...but a forced count runs to the end
    assert forced.first_token_s is not None and forced.first_token_s > 0
