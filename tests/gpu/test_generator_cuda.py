"""On a CUDA machine: the tiny RAP model loads through the 4-bit NF4 path and streams; freed on unload.

Skips cleanly where there is no CUDA (CI, this project's usual machine)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("quantization", ["4bit", "8bit", "fp16"])
def test_tiny_rap_generates_on_the_gpu(session, photos, quantization) -> None:
    from rap_desktop.core.images import load_image
    from rap_desktop.core.models.generator import GenerationOptions, RapGenerator
    from rap_desktop.core.prompting import Conversation, build_user_turn, caption_question

    base = session.generator()
    generator = RapGenerator(base.spec, base.folder, "cuda", quantization)
    generator.load()
    assert generator.device.startswith("cuda") and generator.quantization == quantization
    if quantization in ("4bit", "8bit"):
        import bitsandbytes as bnb

        kind = bnb.nn.Linear4bit if quantization == "4bit" else bnb.nn.Linear8bitLt
        quantized = [name for name, m in generator.model.named_modules() if isinstance(m, kind)]
        assert quantized and all(name.startswith("model.language_model.") for name in quantized)
    turn = build_user_turn(caption_question(), [], query_image=load_image(photos["chelsea"]).image, limit=2)
    conversation = Conversation.start("vicuna_v1", turn)
    pieces: list[str] = []
    answer = generator.generate(
        conversation.prompt(), conversation.images, GenerationOptions(max_new_tokens=6), pieces.append
    )
    assert answer.tokens >= 1 and "".join(pieces).strip() == answer.text
    used = torch.cuda.memory_allocated()
    generator.unload()
    assert torch.cuda.memory_allocated() < used


def _caption_prompts(photos, count: int) -> list:
    from rap_desktop.core.images import load_image
    from rap_desktop.core.prompting import ConceptRef, Conversation, build_user_turn, caption_question

    images = [load_image(photos[n]).image for n in ("chelsea", "coffee", "rocket", "astronaut")]
    out = []
    for i in range(count):
        refs = [
            ConceptRef(n, f"<{n}> is ours.", images[(i + k + 1) % 4]) for k, n in enumerate(["bo", "mochi"][: i % 3])
        ]
        turn = build_user_turn(caption_question(), refs, query_image=images[i % 4], limit=2)
        conversation = Conversation.start("llava_v1", turn)
        out.append((conversation.prompt(), conversation.images))
    return out


def test_batched_captions_in_4bit_on_the_gpu(session, photos) -> None:
    """Left-padded batch in NF4: every row answers, and the batch size comes from the free memory."""
    from rap_desktop.core.models.generator import GenerationOptions, RapGenerator

    base = session.generator()
    generator = RapGenerator(base.spec, base.folder, "cuda", "4bit")
    prompts = _caption_prompts(photos, 4)
    answers = generator.generate_batch(prompts, GenerationOptions(max_new_tokens=6))
    assert len(answers) == 4 and all(1 <= a.tokens <= 6 for a in answers)
    assert generator.caption_batch_size(48) >= 1
    generator.unload()


@pytest.mark.parametrize("backend", ["static", "static-compile"])
def test_static_backends_agree_with_eager_on_the_first_token_in_4bit(session, photos, backend) -> None:
    """The prefill is eager in every backend: the first greedy token must be eager's; the rest is
    measured (benchmarks/generator_gpu.py compares every token and logit)."""
    from rap_desktop.core.models.generator import GenerationOptions, RapGenerator

    base = session.generator()
    prompt, images = _caption_prompts(photos, 3)[2]
    options = GenerationOptions(max_new_tokens=1, min_new_tokens=1)
    eager = RapGenerator(base.spec, base.folder, "cuda", "4bit")
    expected = eager.generate(prompt, images, options).text
    eager.unload()
    other = RapGenerator(base.spec, base.folder, "cuda", "4bit", backend)
    assert other.generate(prompt, images, options).text == expected
    longer = other.generate(prompt, images, GenerationOptions(max_new_tokens=8, min_new_tokens=8))
    assert longer.tokens == 8
    other.unload()
