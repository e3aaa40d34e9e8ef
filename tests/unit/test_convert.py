"""Converting the original-LLaVA-layout RAP checkpoints to transformers' LlavaForConditionalGeneration.

The reference for "same model" is a direct implementation of the original forward pass written here
from the ORIGINAL tensors (LLaVA's llava_arch.py): CLIP hidden_states[-2] without CLS -> mm_projector
(Linear, GELU, Linear) -> spliced in place of the image token -> the causal LM -> logits.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rap_desktop.core.errors import RapError
from rap_desktop.core.models import convert, weights
from rap_desktop.core.models.registry import GENERATOR, Registry
from rap_desktop.core.prompting import IMAGE_TOKEN, Conversation, build_user_turn
from rap_desktop.devtools.tiny_rap import CLIP_MEAN, CLIP_STD, TEMPLATES, write_tiny_rap

ORIGINAL_IMAGE_INDEX = -200  # LLaVA's IMAGE_TOKEN_INDEX placeholder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Per template: the tiny original checkpoint, its tower and the converted folder."""
    out = {}
    for template in TEMPLATES:
        root = tmp_path_factory.mktemp(template)
        written = write_tiny_rap(root, template)
        dst = convert.convert_checkpoint(written.checkpoint, root / "converted", written.vision_tower, template)
        out[template] = (written, dst)
    return out


# --- the direct, original forward pass ----------------------------------------------------------


def _original_tensors(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    index = json.loads((folder / "model.safetensors.index.json").read_text())
    tensors: dict[str, torch.Tensor] = {}
    for name in sorted(set(index["weight_map"].values())):
        tensors.update(load_file(str(folder / name)))
    return tensors


def _original_text_model(folder: Path, tensors: dict[str, torch.Tensor]):
    """The causal LM from the original config's numbers and the original tensors, independent of the
    converter's key mapping."""
    from transformers import LlamaConfig, LlamaForCausalLM, Phi3Config, Phi3ForCausalLM

    config = json.loads((folder / "config.json").read_text())
    fields = {
        k: config[k]
        for k in (
            "hidden_size",
            "intermediate_size",
            "num_hidden_layers",
            "num_attention_heads",
            "num_key_value_heads",
            "vocab_size",
            "rms_norm_eps",
            "max_position_embeddings",
            "pad_token_id",
            "bos_token_id",
            "eos_token_id",
        )
    }
    phi3 = config["architectures"] == ["LlavaPhiForCausalLM"]
    model = (Phi3ForCausalLM(Phi3Config(**fields)) if phi3 else LlamaForCausalLM(LlamaConfig(**fields))).eval()
    text = {k: v for k, v in tensors.items() if not k.startswith(("model.mm_projector.", "model.vision_tower."))}
    model.load_state_dict(text, strict=True)
    return model, config


def _original_logits(checkpoint: Path, tower: Path, pixels: torch.Tensor, ids: list[int]) -> torch.Tensor:
    """LLaVA's encode_images + prepare_inputs_labels_for_multimodal + the LM forward, spelled out."""
    from transformers import CLIPVisionModel

    tensors = _original_tensors(checkpoint)
    lm, config = _original_text_model(checkpoint, tensors)
    clip = CLIPVisionModel.from_pretrained(tower).eval()  # what LLaVA's CLIPVisionTower loads
    with torch.no_grad():
        hidden = clip(pixels[None], output_hidden_states=True).hidden_states[config["mm_vision_select_layer"]]
        patches = hidden[:, 1:]  # mm_vision_select_feature "patch": drop CLS
        w0, b0 = tensors["model.mm_projector.0.weight"], tensors["model.mm_projector.0.bias"]
        w2, b2 = tensors["model.mm_projector.2.weight"], tensors["model.mm_projector.2.bias"]
        features = torch.nn.functional.gelu(patches @ w0.T + b0) @ w2.T + b2
        at = ids.index(ORIGINAL_IMAGE_INDEX)
        embed = lm.get_input_embeddings()
        before = embed(torch.tensor(ids[:at]))
        after = embed(torch.tensor(ids[at + 1 :]))
        embeds = torch.cat([before, features[0], after])[None]
        return lm(inputs_embeds=embeds).logits[0]


def _manual_pixels(image: Image.Image, size: int = 336) -> torch.Tensor:
    """LLaVA-1.5 'pad': expand2square with the mean colour, then CLIP's bicubic resize, /255, normalise."""
    background = tuple(int(x * 255) for x in CLIP_MEAN)
    width, height = image.size
    side = max(width, height)
    square = Image.new("RGB", (side, side), background)
    square.paste(image, ((side - width) // 2, (side - height) // 2))
    resized = square.resize((size, size), Image.BICUBIC)
    array = (np.asarray(resized, dtype=np.float32) / 255 - np.float32(CLIP_MEAN)) / np.float32(CLIP_STD)
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


def _processor(folder: Path):
    from transformers import AutoProcessor

    # The PIL backend is LLaVA's own preprocessing; torchvision's bicubic differs by a few levels.
    return AutoProcessor.from_pretrained(folder, backend="pil")


# --- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("template", TEMPLATES)
def test_converted_logits_match_the_original_forward(tiny, template, photos):
    from transformers import LlavaForConditionalGeneration

    written, dst = tiny[template]
    photo = Image.open(photos["chelsea"]).convert("RGB")
    turn = build_user_turn("What is <bo> doing?", [], query_image=photo, limit=2)
    prompt = Conversation.start(template, turn).prompt()
    processor = _processor(dst)
    inputs = processor(text=prompt, images=[photo], return_tensors="pt")
    model = LlavaForConditionalGeneration.from_pretrained(dst, use_safetensors=True).eval()
    with torch.no_grad():
        converted = model(**inputs).logits[0]

    ids = inputs["input_ids"][0].tolist()
    image_id = model.config.image_token_id
    first, count = ids.index(image_id), ids.count(image_id)
    assert count == 576 and ids[first : first + count] == [image_id] * count  # one run: 24 x 24 patches
    original_ids = [*ids[:first], ORIGINAL_IMAGE_INDEX, *ids[first + count :]]
    expected = _original_logits(written.checkpoint, written.vision_tower, _manual_pixels(photo), original_ids)

    vocab = json.loads((written.checkpoint / "config.json").read_text())["vocab_size"]
    assert converted.shape[0] == expected.shape[0]
    assert expected.abs().mean() > 0.1  # the comparison is not between near-zero numbers
    assert torch.allclose(converted[:, :vocab], expected, atol=1e-4, rtol=1e-4)


def test_pad_preprocessing_matches_llava(tiny, photos):
    _, dst = tiny["llava_v1"]
    processor = _processor(dst)
    assert processor.image_processor.do_pad
    for name in ("chelsea", "grace_hopper", "rocket"):  # wide, tall, wide
        photo = Image.open(photos[name]).convert("RGB")
        assert photo.width != photo.height
        pixels = processor.image_processor(photo, return_tensors="pt")["pixel_values"][0]
        assert torch.allclose(pixels, _manual_pixels(photo), atol=1e-6)
    # The padding really is the mean colour: a black 2:1 image keeps mean-coloured bands top and bottom.
    band = processor.image_processor(Image.new("RGB", (200, 100)), return_tensors="pt")["pixel_values"][0]
    assert torch.allclose(band[:, :40, :], torch.zeros(()), atol=0.02)  # mean colour normalises to ~0
    assert band[:, 168, :].mean() < -1.5  # the black photo in the middle


def test_detect_layout(tiny):
    written, dst = tiny["llava_v1"]
    assert convert.detect_layout(written.checkpoint) == convert.ORIGINAL
    assert convert.detect_layout(dst) == convert.TRANSFORMERS
    with pytest.raises(RapError):
        convert.detect_layout(written.vision_tower)  # a CLIP model is neither
    assert convert.guess_template(written.checkpoint) == "vicuna_v1"
    assert convert.guess_template(tiny["phi3_instruct"][0].checkpoint) == "phi3_instruct"


def test_converted_folder_has_only_safetensors_and_what_transformers_needs(tiny):
    _, dst = tiny["llava_v1"]
    names = {p.name for p in dst.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "chat_template.jinja",
        "processor_config.json",
        "preprocessor_config.json",
        convert.MARKER,
    } <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".py"))]
    config = json.loads((dst / "config.json").read_text())
    assert config["architectures"] == ["LlavaForConditionalGeneration"]
    assert config["vision_feature_layer"] == -2 and config["vision_feature_select_strategy"] == "default"
    assert config["projector_hidden_act"] == "gelu" and config["image_seq_length"] == 576
    assert "auto_map" not in config and not any(k.startswith("mm_") for k in config["text_config"])


def test_image_token_and_vocabulary(tiny):
    from safetensors import safe_open
    from transformers import AutoTokenizer

    for template, grows in (("llava_v1", True), ("phi3_instruct", False)):
        written, dst = tiny[template]
        tokenizer = AutoTokenizer.from_pretrained(dst)
        config = json.loads((dst / "config.json").read_text())
        rows = json.loads((written.checkpoint / "config.json").read_text())["vocab_size"]
        image_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
        assert image_id == config["image_token_index"]
        assert tokenizer(IMAGE_TOKEN, add_special_tokens=False).input_ids == [image_id]
        new_rows = config["text_config"]["vocab_size"]
        if grows:  # LLaMA's vocabulary is full: one more row, padded to a multiple of 64, mean-filled
            assert new_rows > rows and new_rows % 64 == 0 and image_id == rows
            with safe_open(str(dst / "model.safetensors"), "pt") as f:
                embed = f.get_tensor("model.language_model.embed_tokens.weight")
            assert torch.allclose(embed[rows:], embed[:rows].mean(0).expand(new_rows - rows, -1), atol=1e-6)
        else:  # Phi-3's padded vocabulary has room: nothing is resized
            assert new_rows == rows and image_id < rows


@pytest.mark.parametrize("template", TEMPLATES)
def test_chat_template_renders_like_prompting(tiny, template):
    from transformers import AutoTokenizer

    _, dst = tiny[template]
    tokenizer = AutoTokenizer.from_pretrained(dst)
    turn = build_user_turn("Describe <bo>.", [], query_image="photo", limit=2)
    conversation = Conversation.start(template, turn).add_answer("<bo> is sleeping.").ask("Where?")
    messages = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Describe <bo>."}]},
        {"role": "assistant", "content": "<bo> is sleeping."},
        {"role": "user", "content": "Where?"},
    ]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered == conversation.prompt()


def test_embedded_tower_and_bin_shards_convert_to_the_same_model(tiny, tmp_path):
    """Older LLaVA saves: .bin shards (read with the weights-only unpickler) and the tower's weights
    inside the checkpoint. The tower folder then only has to supply configs."""
    from safetensors.torch import load_file

    written = write_tiny_rap(tmp_path / "bin", "llava_v1", weights="bin", embed_tower=True)
    assert sorted(p.suffix for p in written.checkpoint.glob("*-of-*")) == [".bin", ".bin"]
    configs_only = tmp_path / "tower-configs"
    configs_only.mkdir()
    for name in ("config.json", "preprocessor_config.json"):
        shutil.copy(written.vision_tower / name, configs_only / name)
    dst = convert.convert_checkpoint(written.checkpoint, tmp_path / "out", configs_only, "llava_v1")
    reference = load_file(str(tiny["llava_v1"][1] / "model.safetensors"))
    converted = load_file(str(dst / "model.safetensors"))
    assert converted.keys() == reference.keys()
    assert all(torch.equal(converted[k], reference[k]) for k in reference)


def test_already_converted_folder_is_used_as_is(tiny):
    _, dst = tiny["llava_v1"]

    def no_tower() -> Path:
        raise AssertionError("no conversion, so no vision tower is needed")

    assert convert.ensure_transformers_layout(dst, "rap-llava-13b", no_tower, "llava_v1") == dst
    assert convert.convert_checkpoint(Path("/nonexistent"), dst, Path("/nonexistent"), "llava_v1") == dst


def test_first_use_converts_once_then_reuses(tiny, tmp_path):
    written, _ = tiny["phi3_instruct"]
    asked: list[int] = []
    stages: list[tuple[str, float]] = []

    def tower() -> Path:
        asked.append(1)
        return written.vision_tower

    def progress(message: str, fraction: float) -> None:
        stages.append((message, fraction))

    first = convert.ensure_transformers_layout(
        written.checkpoint, "rap-phi3-mini", tower, "phi3_instruct", progress, cache_root=tmp_path
    )
    again = convert.ensure_transformers_layout(
        written.checkpoint, "rap-phi3-mini", tower, "phi3_instruct", progress, cache_root=tmp_path
    )
    assert first == again and first.parent == tmp_path and convert.is_converted(first)
    assert asked == [1]
    fractions = [f for _, f in stages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_a_failed_conversion_leaves_nothing(tiny, tmp_path):
    written, _ = tiny["llava_v1"]
    dst = tmp_path / "out"

    def fail_late(message: str, fraction: float) -> None:
        if fraction > 0.9:  # after the weights are written: a cancel, a full disk...
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        convert.convert_checkpoint(written.checkpoint, dst, written.vision_tower, "llava_v1", fail_late)
    assert [p for p in tmp_path.iterdir() if p != convert.lock_path(dst)] == []


def test_refuses_what_it_cannot_convert(tiny, tmp_path):
    written, dst = tiny["llava_v1"]
    src = tmp_path / "linear"
    shutil.copytree(written.checkpoint, src)
    config = json.loads((src / "config.json").read_text())
    (src / "config.json").write_text(json.dumps({**config, "mm_projector_type": "linear"}))
    with pytest.raises(RapError, match="mlp2x_gelu"):
        convert.convert_checkpoint(src, tmp_path / "a", written.vision_tower, "llava_v1")
    with pytest.raises(RapError, match="not an original"):
        convert.convert_checkpoint(dst, tmp_path / "b", written.vision_tower, "llava_v1")
    (tmp_path / "c").mkdir()
    with pytest.raises(RapError, match="already exists"):
        convert.convert_checkpoint(written.checkpoint, tmp_path / "c", written.vision_tower, "llava_v1")
    with pytest.raises(KeyError):
        convert.convert_checkpoint(written.checkpoint, tmp_path / "d", written.vision_tower, "no_such_template")
    bin_only = tmp_path / "bin-only"
    bin_only.mkdir()
    shutil.copy(dst / "config.json", bin_only / "config.json")
    with pytest.raises(RapError, match="only safetensors"):
        convert.check_transformers_folder(bin_only)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["bin-only", "c", "linear"]


def test_original_key_mapping():
    assert convert.map_original_key("model.layers.3.self_attn.q_proj.weight") == (
        "model.language_model.layers.3.self_attn.q_proj.weight"
    )
    assert convert.map_original_key("model.embed_tokens.weight") == "model.language_model.embed_tokens.weight"
    assert convert.map_original_key("lm_head.weight") == "lm_head.weight"
    assert convert.map_original_key("model.mm_projector.0.bias") == "model.multi_modal_projector.linear_1.bias"
    assert convert.map_original_key("model.mm_projector.2.weight") == "model.multi_modal_projector.linear_2.weight"
    assert convert.map_original_key("model.layers.0.self_attn.rotary_emb.inv_freq") is None
    assert convert.map_original_key("model.vision_tower.vision_tower.vision_model.post_layernorm.bias") == (
        "model.vision_tower.post_layernorm.bias"
    )
    assert convert.map_tower_key("vision_model.encoder.layers.0.mlp.fc1.weight") == (
        "model.vision_tower.encoder.layers.0.mlp.fc1.weight"
    )
    assert convert.map_tower_key("text_model.embeddings.token_embedding.weight") is None
    legacy = convert.Targets.from_keys(
        {
            "language_model.model.norm.weight",
            "language_model.lm_head.weight",
            "multi_modal_projector.linear_1.weight",
            "vision_tower.vision_model.x",
        }
    )
    assert convert.map_original_key("model.norm.weight", legacy) == "language_model.model.norm.weight"
    assert convert.map_original_key("lm_head.weight", legacy) == "language_model.lm_head.weight"
    with pytest.raises(RapError):
        convert.map_original_key("something.else")


def test_registry_generators():
    registry = Registry()
    llava, phi3 = registry.get("rap-llava-13b"), registry.get("rap-phi3-mini")
    for spec, template, limit in ((llava, "vicuna_v1", 2), (phi3, "phi3_instruct", 3)):
        assert spec.kind == GENERATOR and spec.backend == "rap-llava"
        assert spec.options["template"] == template and spec.options["concept_limit"] == limit
        assert spec.options["vision_tower"] == "openai/clip-vit-large-patch14-336"
        assert spec.options["image_aspect"] == "pad" and spec.options["layout"] == "original"
        assert "config.json" in spec.files
    assert llava.hub_repo == "Hoar012/RAP-LLaVA-13b" and phi3.hub_repo == "Hoar012/RAP-Phi3-mini"
    assert llava.options["lighter"] == "rap-phi3-mini"
    assert registry.get("clip-vit-l-14-336").kind == "embedder"  # existing entries untouched


def test_download_patterns_prefer_safetensors():
    both = ["config.json", "model-00001-of-00002.safetensors", "pytorch_model-00001-of-00002.bin"]
    assert "pytorch_model*.bin" not in weights.select_download_patterns(both)
    assert "pytorch_model*.bin" in weights.select_download_patterns(["config.json", "pytorch_model.bin"])


def test_vision_tower_resolves_a_local_folder_or_reports_the_hub_repo(tiny, tmp_path):
    from rap_desktop.core.errors import ModelMissingError

    written, _ = tiny["llava_v1"]
    assert convert.resolve_vision_tower(str(written.vision_tower)) == written.vision_tower
    with pytest.raises(ModelMissingError, match="openai/clip-vit-large-patch14-336"):
        convert.resolve_vision_tower("openai/clip-vit-large-patch14-336", "rap-llava-13b", cache_dir=tmp_path)


def test_big_checkpoints_are_written_in_shards(tiny, tmp_path):
    from safetensors.torch import load_file

    written, single = tiny["llava_v1"]
    dst = convert.convert_checkpoint(
        written.checkpoint, tmp_path / "sharded", written.vision_tower, "llava_v1", max_shard_bytes=200_000
    )
    index = json.loads((dst / "model.safetensors.index.json").read_text())
    files = sorted(set(index["weight_map"].values()))
    assert len(files) > 2 and not (dst / "model.safetensors").exists()
    merged: dict[str, torch.Tensor] = {}
    for name in files:
        merged.update(load_file(str(dst / name)))
    reference = load_file(str(single / "model.safetensors"))
    assert merged.keys() == reference.keys() == index["weight_map"].keys()
    assert all(torch.equal(merged[k], reference[k]) for k in reference)


class _Touch:
    """Unpickling this would create a file: the weights-only loader must refuse it instead."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_bin_weights_are_read_without_running_code(tiny, tmp_path):
    written, _ = tiny["llava_v1"]
    src = tmp_path / "hostile"
    src.mkdir()
    for path in written.checkpoint.glob("*.json"):
        if "index" not in path.name:
            shutil.copy(path, src / path.name)
    ran = tmp_path / "code-ran"
    torch.save({"model.norm.weight": torch.ones(64), "payload": _Touch(ran)}, src / "pytorch_model.bin")
    with pytest.raises(RapError, match="refusing"):
        convert.convert_checkpoint(src, tmp_path / "out", written.vision_tower, "llava_v1")
    assert not ran.exists() and not (tmp_path / "out").exists()


def test_converted_tokenizer_agrees_with_the_checkpoints_sentencepiece(tiny):
    """RAP-LLaVA ships only LLaMA's tokenizer.model, which LLaVA's training read with sentencepiece;
    the converted tokenizer must split every prompt chunk exactly as sentencepiece does."""
    import sentencepiece as spm
    from transformers import AutoTokenizer

    written, dst = tiny["llava_v1"]
    shipped = {p.name for p in written.checkpoint.iterdir()}
    assert "tokenizer.model" in shipped and "tokenizer.json" not in shipped
    sp = spm.SentencePieceProcessor(model_file=str(written.checkpoint / "tokenizer.model"))
    tokenizer = AutoTokenizer.from_pretrained(dst)
    chunks = [
        "A chat between a curious human and an artificial intelligence assistant. USER: ",
        "\n[1.",
        "\n Name: bo, Info: <bo> is a Shiba Inu, 3 years old.\n",
        "\nWhat is <bo> doing?  Two  spaces, tabs\tand ünïcödé 😀 ASSISTANT:",
    ]
    for chunk in chunks:
        assert tokenizer(chunk).input_ids == [sp.bos_id(), *sp.encode(chunk)], chunk
