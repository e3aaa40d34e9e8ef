"""First use of an original-layout checkpoint without a second copy of its weights: the prepared folder
holds config, tokenizer and processor; the weights are read from the download itself (key_mapping)
and give exactly the original forward pass. Plus: stale prepared folders go, and a copy that does not
fit on the disk is refused before anything is written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from rap_desktop.core.models import convert
from rap_desktop.core.models.disk import DiskSpaceError
from rap_desktop.core.models.llava_loading import IN_PLACE, load_llava, read_marker
from rap_desktop.core.prompting import Conversation, build_user_turn
from rap_desktop.devtools.tiny_rap import write_tiny_rap
from tests.unit.test_convert import ORIGINAL_IMAGE_INDEX, _manual_pixels, _original_logits, _processor


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("template", ["vicuna_v1", "phi3_instruct"])
def test_in_place_logits_match_the_original_forward(tmp_path, template, photos):
    written = write_tiny_rap(tmp_path / "tiny", template, embed_tower=True)
    dst = convert.ensure_transformers_layout(
        written.checkpoint, "tiny", written.vision_tower, template, cache_root=tmp_path / "cache"
    )
    assert read_marker(dst)["mode"] == IN_PLACE
    assert not list(dst.glob("*.safetensors")) and not list(dst.glob("*.bin"))  # no second copy
    assert _folder_bytes(dst) < _folder_bytes(written.checkpoint) / 4

    photo = Image.open(photos["chelsea"]).convert("RGB")
    prompt = Conversation.start(template, build_user_turn("What is <bo> doing?", [], query_image=photo, limit=2))
    inputs = _processor(dst)(text=prompt.prompt(), images=[photo], return_tensors="pt")
    model = load_llava(dst, {"use_safetensors": True, "dtype": torch.float32}).eval()
    with torch.no_grad():
        got = model(**inputs).logits[0]
    ids = inputs["input_ids"][0].tolist()
    image_id = model.config.image_token_id
    first, count = ids.index(image_id), ids.count(image_id)
    original_ids = [*ids[:first], ORIGINAL_IMAGE_INDEX, *ids[first + count :]]
    expected = _original_logits(written.checkpoint, written.vision_tower, _manual_pixels(photo), original_ids)
    vocab = json.loads((written.checkpoint / "config.json").read_text())["vocab_size"]
    assert expected.abs().mean() > 0.1
    assert torch.allclose(got[:, :vocab], expected, atol=1e-4, rtol=1e-4)
    if template == "vicuna_v1":  # LLaMA's full vocabulary grew by <image>: new rows are the mean, as a copy's
        rows = model.get_input_embeddings().weight
        assert rows.shape[0] % 64 == 0 and rows.shape[0] > vocab
        assert torch.allclose(rows[vocab:], rows[:vocab].mean(0).expand(rows.shape[0] - vocab, -1), atol=1e-6)


def test_a_source_without_its_tower_is_still_copied(tmp_path):
    written = write_tiny_rap(tmp_path / "tiny", "vicuna_v1", embed_tower=False)
    assert not convert.tower_embedded(written.checkpoint)
    dst = convert.ensure_transformers_layout(
        written.checkpoint, "tiny", written.vision_tower, "vicuna_v1", cache_root=tmp_path / "cache"
    )
    assert read_marker(dst)["mode"] == "copy" and list(dst.glob("*.safetensors"))


def test_tower_configs_only_when_the_checkpoint_holds_the_tower(tmp_path):
    embedded = write_tiny_rap(tmp_path / "phi3", "phi3_instruct")
    assert convert.tower_embedded(embedded.checkpoint)
    spec = convert.vision_tower_spec("openai/clip-vit-large-patch14-336", "rap-phi3-mini", configs_only=True)
    assert spec.options["download_patterns"] == ("*.json",) and spec.size_mb <= 1
    full = convert.vision_tower_spec("openai/clip-vit-large-patch14-336", "rap-phi3-mini")
    assert "*.safetensors" in full.options["download_patterns"]


def test_a_stale_prepared_folder_is_removed(tmp_path):
    written = write_tiny_rap(tmp_path / "tiny", "phi3_instruct")
    cache = tmp_path / "cache"
    unrelated = cache / "tiny-0123456789abcdef"  # same name pattern, not ours (no marker): kept
    unrelated.mkdir(parents=True)
    first = convert.ensure_transformers_layout(
        written.checkpoint, "tiny", written.vision_tower, "phi3_instruct", None, cache
    )
    config = json.loads((written.checkpoint / "config.json").read_text())
    (written.checkpoint / "config.json").write_text(json.dumps({**config, "rms_norm_eps": 1e-6}))  # an update
    second = convert.ensure_transformers_layout(
        written.checkpoint, "tiny", written.vision_tower, "phi3_instruct", None, cache
    )
    assert second != first and convert.is_converted(second)
    assert not first.exists()
    assert unrelated.is_dir()


def test_an_updated_hub_snapshot_replaces_the_old_ones_folder(tmp_path):
    """The hub cache keeps each revision in snapshots/<commit>: an update is another folder."""
    repo = tmp_path / "hub" / "models--Hoar012--RAP-Phi3-mini" / "snapshots"
    old = write_tiny_rap(tmp_path / "old", "phi3_instruct").checkpoint
    shutil.copytree(old, repo / ("a" * 40))
    new = repo / ("b" * 40)
    shutil.copytree(old, new)
    config = json.loads((new / "config.json").read_text())
    (new / "config.json").write_text(json.dumps({**config, "rms_norm_eps": 1e-6}))
    tower = tmp_path / "old" / "vision_tower"
    cache = tmp_path / "cache"
    first = convert.ensure_transformers_layout(repo / ("a" * 40), "rap-phi3-mini", tower, "phi3_instruct", None, cache)
    second = convert.ensure_transformers_layout(new, "rap-phi3-mini", tower, "phi3_instruct", None, cache)
    assert convert.is_converted(second) and not first.exists()


def test_a_copy_that_does_not_fit_is_refused_before_writing(tmp_path):
    written = write_tiny_rap(tmp_path / "tiny", "vicuna_v1")
    dst = tmp_path / "out" / "converted"
    with pytest.raises(DiskSpaceError) as refused:
        convert.convert_checkpoint(
            written.checkpoint, dst, written.vision_tower, "vicuna_v1", free_space=lambda _folder: 200_000_000
        )
    message = str(refused.value)
    assert "needs about" in message and str(dst.parent) in message and "0.2 GB is free" in message
    assert "RAP_DESKTOP_WEIGHTS_DIR" in message and "\n" not in message
    assert not dst.exists() and not [p for p in dst.parent.iterdir() if convert.TEMP_MARK in p.name]
    shutil.rmtree(tmp_path / "out")
