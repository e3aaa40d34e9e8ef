"""Generation ends at the chat template's stop token, and the pad id is the tokenizer's own.

RAP-Phi3's checkpoint names only `<|endoftext|>` as its end token, while its template ends every
assistant turn with `<|end|>`. The tiny Phi-3 checkpoint has the real one's files (tokenizer.model,
added_tokens.json, tokenizer_config.json, no tokenizer.json, the tower inside the safetensors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rap_desktop.core.models import convert
from rap_desktop.core.models.generator import GenerationOptions, RapGenerator, pad_token_id
from rap_desktop.core.models.registry import GENERATOR, ModelSpec
from rap_desktop.core.prompting import Conversation, build_user_turn
from rap_desktop.devtools.tiny_rap import write_tiny_rap

MAX_TOKENS = 12
END_FROM_STEP = 3  # the forced <|end|> is the third new token


@pytest.fixture(scope="module")
def phi3(tmp_path_factory: pytest.TempPathFactory) -> RapGenerator:
    root = tmp_path_factory.mktemp("phi3")
    written = write_tiny_rap(root, "phi3_instruct")
    folder = convert.ensure_transformers_layout(
        written.checkpoint, "tiny-phi3", written.vision_tower, "phi3_instruct", cache_root=root / "converted"
    )
    spec = ModelSpec("tiny-phi3", GENERATOR, "rap-llava", options={"template": "phi3_instruct"})
    generator = RapGenerator(spec, folder, "cpu", "fp32")
    generator.load()
    return generator


def test_tiny_phi3_checkpoint_has_the_real_files(tmp_path: Path) -> None:
    written = write_tiny_rap(tmp_path, "phi3_instruct")
    names = {p.name for p in written.checkpoint.iterdir()}
    assert {"tokenizer.model", "added_tokens.json", "tokenizer_config.json"} <= names
    assert "tokenizer.json" not in names
    index = (written.checkpoint / "model.safetensors.index.json").read_text()
    assert "model.vision_tower.vision_tower.vision_model." in index


def _force_end_token(generator: RapGenerator, end_id: int):
    """Bias the model's output layer so that from the END_FROM_STEP-th forward pass on (the first is
    the prompt) `<|end|>` is by far the most likely token: the answer then has exactly that many."""
    calls = [0]

    def hook(_module, _inputs, logits):
        calls[0] += 1
        if calls[0] >= END_FROM_STEP:
            logits = logits.clone()
            logits[..., end_id] += 1e4
        return logits

    return generator.model.lm_head.register_forward_hook(hook)


def test_generation_stops_at_the_templates_end_token(phi3: RapGenerator) -> None:
    tokenizer = phi3.processor.tokenizer
    end_id = tokenizer.convert_tokens_to_ids("<|end|>")
    assert end_id != tokenizer.eos_token_id  # the checkpoint's own end token is <|endoftext|>
    assert end_id not in [phi3.model.generation_config.eos_token_id]
    conversation = Conversation.start("phi3_instruct", build_user_turn("Describe the photo.", [], limit=3))
    handle = _force_end_token(phi3, end_id)
    try:
        answer = phi3.generate(conversation.prompt(), [], GenerationOptions(max_new_tokens=MAX_TOKENS))
    finally:
        handle.remove()
    assert answer.tokens == END_FROM_STEP  # two words, then <|end|>; not MAX_TOKENS
    assert "<|end|>" not in answer.text


def test_llama_pad_id_zero_is_kept(tmp_path: Path) -> None:
    """LLaMA's tokenizer pads with <unk>, id 0: a falsy id that must not become the end token."""
    from transformers import AutoTokenizer

    written = write_tiny_rap(tmp_path, "vicuna_v1")
    dst = convert.convert_checkpoint(written.checkpoint, tmp_path / "out", written.vision_tower, "vicuna_v1")
    tokenizer = AutoTokenizer.from_pretrained(dst)
    assert tokenizer.pad_token == "<unk>" and tokenizer.pad_token_id == 0
    assert pad_token_id(tokenizer) == 0 != tokenizer.eos_token_id
