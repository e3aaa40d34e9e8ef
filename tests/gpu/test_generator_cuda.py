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
    if quantization == "4bit":
        import bitsandbytes as bnb

        assert any(isinstance(m, bnb.nn.Linear4bit) for m in generator.model.modules())
    turn = build_user_turn(caption_question(), [], query_image=load_image(photos["chelsea"]).image, limit=2)
    conversation = Conversation.start("llava_v1", turn)
    pieces: list[str] = []
    answer = generator.generate(
        conversation.prompt(), conversation.images, GenerationOptions(max_new_tokens=6), pieces.append
    )
    assert answer.tokens >= 1 and "".join(pieces).strip() == answer.text
    used = torch.cuda.memory_allocated()
    generator.unload()
    assert torch.cuda.memory_allocated() < used
