"""Decode planning: the backend names, rows trimmed at their stop token, left padding, and how many
photos one generate call takes for the free GPU memory."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig

from rap_desktop.core.errors import RapError
from rap_desktop.core.models import decoding
from rap_desktop.core.session import Session

# RAP-LLaVA-13B's text model (Vicuna-13B) and RAP-Phi3-mini's, from their config.json
LLAMA_13B = LlamaConfig(hidden_size=5120, intermediate_size=13824, num_hidden_layers=40, num_attention_heads=40)
PHI3_MINI = LlamaConfig(hidden_size=3072, intermediate_size=8192, num_hidden_layers=32, num_attention_heads=32)


def test_backend_names() -> None:
    assert decoding.DECODE_BACKENDS[0] == "eager"  # the default: the path known to be correct
    for name in decoding.DECODE_BACKENDS:
        assert decoding.check_backend(name) == name
    with pytest.raises(RapError, match="static-compile"):
        decoding.check_backend("cuda-graphs")


def test_trim_keeps_a_row_up_to_its_first_stop() -> None:
    assert decoding.trim([5, 6, 2, 2, 2], {2}) == [5, 6, 2]
    assert decoding.trim([5, 6, 7], {2}) == [5, 6, 7]
    assert decoding.trim([5, 9, 6, 2], decoding.stop_ids([2, 9])) == [5, 9]
    assert decoding.stop_ids(None) == set() and decoding.stop_ids(2) == {2}


def test_left_padding_keeps_each_row_and_its_pixels_in_order() -> None:
    rows = [
        {"input_ids": torch.tensor([[1, 7, 8]]), "attention_mask": torch.ones(1, 3, dtype=torch.long)},
        {
            "input_ids": torch.tensor([[1, 9, 9, 9, 4]]),
            "attention_mask": torch.ones(1, 5, dtype=torch.long),
            "pixel_values": torch.zeros(2, 3, 4, 4),
        },
        {
            "input_ids": torch.tensor([[1, 9, 5]]),
            "attention_mask": torch.ones(1, 3, dtype=torch.long),
            "pixel_values": torch.ones(1, 3, 4, 4),
        },
    ]
    batch = decoding.left_pad(rows, pad_id=0)
    assert batch["input_ids"].tolist() == [[0, 0, 1, 7, 8], [1, 9, 9, 9, 4], [0, 0, 1, 9, 5]]
    assert batch["attention_mask"].tolist() == [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 1, 1, 1]]
    assert batch["pixel_values"][:, 0, 0, 0].tolist() == [0.0, 0.0, 1.0]  # row 1's two images, then row 2's


def test_batch_size_follows_the_free_memory() -> None:
    per_token = decoding.kv_bytes_per_token(LLAMA_13B)
    assert per_token == 2 * 40 * 5120 * 2  # keys and values, 40 layers, fp16
    sample = 2100 * per_token + 1900 * decoding.activation_bytes_per_token(LLAMA_13B)  # a 3-image prompt + 48
    sizes = [decoding.batch_for_memory(gb * 1e9, sample) for gb in (0.5, 4, 12, 40, 130)]
    assert sizes[0] == sizes[1] == 1  # a 12 GB card with the 13B loaded: one photo at a time
    assert sizes == sorted(sizes) and sizes[2] < sizes[3]
    assert sizes[-1] == decoding.MAX_BATCH  # an H200: capped
    smaller = 2100 * decoding.kv_bytes_per_token(PHI3_MINI)
    assert decoding.batch_for_memory(40e9, smaller) > decoding.batch_for_memory(40e9, sample)


def test_generation_settings(home, tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[generation]\ndecode_backend = "static"\ncaption_batch = 6\n')
    assert Session.open(home, config).generation_settings() == ("static", 6)
    (tmp_path / "empty.toml").write_text("")  # (a settings file named but missing is refused)
    assert Session.open(home, tmp_path / "empty.toml").generation_settings() == ("eager", 0)
    config.write_text('[generation]\ndecode_backend = "fast"\n')
    with pytest.raises(RapError, match=r"config.toml: \[generation\] unknown decode backend 'fast'"):
        Session.open(home, config).generation_settings()
    config.write_text("[generation]\ncaption_batch = -1\n")
    with pytest.raises(RapError, match="caption_batch must be a whole number"):
        Session.open(home, config).generation_settings()


def test_batches_group_prompts_of_the_same_size() -> None:
    batcher = decoding.Batcher(2)
    sizes = [1, 3, 1, 2, 3, 2, 1]  # images per prompt, photo by photo
    full = [batch for i, size in enumerate(sizes) if (batch := batcher.add(i, size))]
    assert full == [[0, 2], [1, 4], [3, 5]]  # each batch one prompt size, in taken order within it
    assert len(batcher) == 1 and batcher.rest() == [6] and batcher.rest() is None
