"""A tiny random-weight RAP checkpoint in the ORIGINAL LLaVA repository layout, plus its CLIP tower.

The published RAP checkpoints (Hoar012/RAP-LLaVA-13b, Hoar012/RAP-Phi3-mini) are saved by LLaVA's
own code: a `LlavaLlamaForCausalLM` / `LlavaPhiForCausalLM` config carrying the `mm_*` fields, the
language model's weights under their plain causal-LM names plus `model.mm_projector.{0,2}`, weight
shards with an index, and the base model's tokenizer files. The vision tower's configs come from
`openai/clip-vit-large-patch14-336` (a full `CLIPModel` checkpoint); its weights are in the checkpoint
too once LLaVA saved it with the tower loaded.

Everything here has the same key names, config fields (and value types) and file names, shrunk:
64-d language model, 2 layers; 32-d CLIP tower, 3 layers, at the real 336 px / 14 px patches (576
image tokens), so the real preprocessing applies unchanged. Random weights; < 1 s, < 2 MB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

LLAVA_V1 = "llava_v1"
VICUNA_V1 = "vicuna_v1"  # RAP-LLaVA's trained template; the same LLaMA flavour as llava_v1
PHI3_INSTRUCT = "phi3_instruct"
TEMPLATES = (LLAVA_V1, PHI3_INSTRUCT)  # one per text-model flavour

VISION_TOWER_REPO = "openai/clip-vit-large-patch14-336"
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGE_SIZE, PATCH_SIZE = 336, 14  # the real tower's: 24 x 24 = 576 patches
TOWER_HIDDEN = 32
_HIDDEN, _INTERMEDIATE, _LAYERS, _HEADS = 64, 128, 2, 4

# LLaMA's sentencepiece layout: <unk>, <s>, </s>, then the 256 byte-fallback pieces, then the words.
_SPECIAL = ("<unk>", "<s>", "</s>")
# Phi-3's extra tokens, appended after the base vocabulary as in Phi-3-mini (ids 32000..32010 there).
_PHI3_ADDED = (
    "<|endoftext|>",
    "<|assistant|>",
    "<|placeholder1|>",
    "<|placeholder2|>",
    "<|placeholder3|>",
    "<|placeholder4|>",
    "<|system|>",
    "<|end|>",
    "<|placeholder5|>",
    "<|placeholder6|>",
    "<|user|>",
)
# Words the prompts use, so they tokenize into a few pieces; anything else falls back to bytes.
_CORPUS = (
    "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, "
    "detailed, and polite answers to the human's questions. USER: ASSISTANT: You are a helpful AI assistant. "
    "Name: Info: Give a caption of the image. Is in this image? Answer with a single word or phrase. "
    "Give bounding box in the image. Please give a single character from the options above. "
    "What is doing? Describe the photo. Yes No a cat dog person cup is sitting on the sofa with "
    "my friend brother sister mother father pet toy and of to in it that for was he she they we you "
    "0 1 2 3 4 5 6 7 8 9 [ ] , . : ? ! < > ( ) - _ ' \" / "
)


@dataclass(frozen=True)
class TinyRap:
    checkpoint: Path  # the original-layout RAP checkpoint folder
    vision_tower: Path  # the CLIP tower folder (HF CLIPModel layout, like openai/clip-vit-large-patch14-336)


def write_tiny_rap(
    folder: Path,
    template: str = LLAVA_V1,
    *,
    seed: int = 0,
    weights: str = "safetensors",
    embed_tower: bool | None = None,
) -> TinyRap:
    """Write `folder/checkpoint` (original LLaVA layout) and `folder/vision_tower` (CLIP).

    `template` picks the flavour: "llava_v1" = RAP-LLaVA (LLaMA text model), "phi3_instruct" =
    RAP-Phi3 (Phi-3 text model). `weights` "bin" writes `pytorch_model-*.bin` shards instead (older
    LLaVA saves). `embed_tower` also stores the tower's weights inside the checkpoint, under
    `model.vision_tower.vision_tower.*`, as LLaVA's save does once the tower is loaded; the default
    follows the published checkpoints' shapes here: embedded for RAP-Phi3, separate for RAP-LLaVA (so
    both paths stay covered).
    """
    if template not in (*TEMPLATES, VICUNA_V1):
        raise ValueError(f"unknown template {template!r}; expected one of {TEMPLATES}")
    if weights not in ("safetensors", "bin"):
        raise ValueError(f"weights must be 'safetensors' or 'bin', got {weights!r}")
    import torch

    tower = write_tiny_vision_tower(folder / "vision_tower", seed=seed)
    checkpoint = folder / "checkpoint"
    checkpoint.mkdir(parents=True, exist_ok=True)
    phi3 = template == PHI3_INSTRUCT
    if embed_tower is None:
        embed_tower = phi3
    vocab_size = _write_tokenizer(checkpoint, phi3)
    config = _phi3_config(vocab_size) if phi3 else _llama_config(vocab_size)
    (checkpoint / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    _write_generation_config(checkpoint, config)
    state = _text_state(config, phi3, seed)
    generator = torch.Generator().manual_seed(seed + 1)
    state.update(_projector_state(generator))
    if embed_tower:
        state.update(_embedded_tower_state(tower))
    _save_shards(checkpoint, state, weights)
    return TinyRap(checkpoint, tower)


# --- the CLIP tower ---------------------------------------------------------------------------


def write_tiny_vision_tower(folder: Path, seed: int = 0) -> Path:
    """A full `CLIPModel` checkpoint (text tower too, as the real repo has), 336 px / 14 px patches."""
    import torch
    from transformers import CLIPConfig, CLIPModel

    folder.mkdir(parents=True, exist_ok=True)
    config = CLIPConfig(
        text_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "vocab_size": 1000,
            "max_position_embeddings": 77,
            "bos_token_id": 998,
            "eos_token_id": 999,
            "pad_token_id": 1,
        },
        vision_config={
            "hidden_size": TOWER_HIDDEN,
            "intermediate_size": 64,
            "num_hidden_layers": 3,
            "num_attention_heads": 2,
            "image_size": IMAGE_SIZE,
            "patch_size": PATCH_SIZE,
        },
        projection_dim=16,
    )
    torch.manual_seed(seed)
    model = CLIPModel(config)
    generator = torch.Generator().manual_seed(seed + 2)
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(_random_like(name, param, generator))
    model.save_pretrained(folder)  # config.json + model.safetensors
    # The real repo's preprocessor_config.json, in its old CLIPFeatureExtractor form (ints, not dicts).
    preprocessor = {
        "crop_size": IMAGE_SIZE,
        "do_center_crop": True,
        "do_normalize": True,
        "do_resize": True,
        "feature_extractor_type": "CLIPFeatureExtractor",
        "image_mean": CLIP_MEAN,
        "image_std": CLIP_STD,
        "resample": 3,
        "size": IMAGE_SIZE,
    }
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2), encoding="utf-8")
    return folder


def _embedded_tower_state(tower: Path) -> dict:
    from safetensors.torch import load_file

    weights = load_file(str(tower / "model.safetensors"))
    prefix = "model.vision_tower.vision_tower."  # LlavaMetaModel.vision_tower (CLIPVisionTower).vision_tower
    return {prefix + k: v for k, v in weights.items() if k.startswith("vision_model.")}


# --- the language model -----------------------------------------------------------------------


def _mm_fields() -> dict:
    # The fields LLaVA's train.py writes for a v1.5-style model (same names, values and types).
    return {
        "freeze_mm_mlp_adapter": False,
        "image_aspect_ratio": "pad",
        "image_grid_pinpoints": None,
        "mm_hidden_size": TOWER_HIDDEN,
        "mm_patch_merge_type": "flat",
        "mm_projector_lr": 2e-05,
        "mm_projector_type": "mlp2x_gelu",
        "mm_resampler_type": None,
        "mm_use_im_patch_token": False,
        "mm_use_im_start_end": False,
        "mm_vision_select_feature": "patch",
        "mm_vision_select_layer": -2,
        "mm_vision_tower": VISION_TOWER_REPO,
        "tokenizer_model_max_length": 2048,
        "tokenizer_padding_side": "right",
        "tune_mm_mlp_adapter": False,
        "tune_mm_vision_resampler": False,
        "unfreeze_mm_vision_tower": False,
        "use_mm_proj": True,
    }


def _llama_config(vocab_size: int) -> dict:
    # Like llava-v1.5-13b's config.json: the vocabulary has no spare row (32000 there).
    return {
        "_name_or_path": "tiny-rap-llava",
        "architectures": ["LlavaLlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": _HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": _INTERMEDIATE,
        "max_length": 4096,
        "max_position_embeddings": 4096,
        "model_type": "llava_llama",
        "num_attention_heads": _HEADS,
        "num_hidden_layers": _LAYERS,
        "num_key_value_heads": _HEADS,
        "pad_token_id": 0,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": "4.37.2",
        "use_cache": True,
        "vocab_size": vocab_size,
        **_mm_fields(),
    }


def _phi3_config(vocab_size: int) -> dict:
    # Like LLaVA-Phi-3-mini-4k-instruct's: a padded vocabulary (32064 rows for 32011 tokens there).
    padded = -(-(vocab_size + 1) // 64) * 64  # keeps at least one spare row, as the real one does
    return {
        "_name_or_path": "tiny-rap-phi3",
        "architectures": ["LlavaPhiForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "embd_pdrop": 0.0,
        "eos_token_id": vocab_size - len(_PHI3_ADDED),  # <|endoftext|>
        "hidden_act": "silu",
        "hidden_size": _HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": _INTERMEDIATE,
        "max_position_embeddings": 4096,
        "model_type": "llava_phi",
        "num_attention_heads": _HEADS,
        "num_hidden_layers": _LAYERS,
        "num_key_value_heads": _HEADS,
        "original_max_position_embeddings": 4096,
        "pad_token_id": vocab_size - len(_PHI3_ADDED),
        "resid_pdrop": 0.0,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "sliding_window": 2047,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": "4.40.0",
        "use_cache": True,
        "vocab_size": padded,
        **_mm_fields(),
    }


def _write_generation_config(folder: Path, config: dict) -> None:
    generation = {
        "bos_token_id": config["bos_token_id"],
        "eos_token_id": config["eos_token_id"],
        "pad_token_id": config["pad_token_id"],
        "transformers_version": config["transformers_version"],
    }
    (folder / "generation_config.json").write_text(json.dumps(generation, indent=2), encoding="utf-8")


def _text_state(config: dict, phi3: bool, seed: int) -> dict:
    """Random weights under the causal LM's own key names (model.embed_tokens, model.layers.N...,
    model.norm, lm_head), taken from transformers' LlamaForCausalLM / Phi3ForCausalLM."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Phi3Config, Phi3ForCausalLM

    keys = (
        "hidden_size",
        "intermediate_size",
        "num_hidden_layers",
        "num_attention_heads",
        "num_key_value_heads",
        "vocab_size",
        "rms_norm_eps",
        "max_position_embeddings",
    )
    fields = {k: config[k] for k in keys}
    ids = {k: config[k] for k in ("bos_token_id", "eos_token_id", "pad_token_id")}
    text_config = Phi3Config(**fields, **ids) if phi3 else LlamaConfig(**fields, **ids)
    with torch.device("meta"):
        model = (Phi3ForCausalLM if phi3 else LlamaForCausalLM)(text_config)
    generator = torch.Generator().manual_seed(seed)
    return {name: _random_like(name, p, generator) for name, p in model.state_dict().items()}


def _projector_state(generator) -> dict:
    # mlp2x_gelu = nn.Sequential(Linear(mm_hidden, hidden), GELU(), Linear(hidden, hidden)): indices 0 and 2.
    import torch

    shapes = {
        "model.mm_projector.0.weight": (_HIDDEN, TOWER_HIDDEN),
        "model.mm_projector.0.bias": (_HIDDEN,),
        "model.mm_projector.2.weight": (_HIDDEN, _HIDDEN),
        "model.mm_projector.2.bias": (_HIDDEN,),
    }
    return {k: _random_like(k, torch.empty(s, device="meta"), generator) for k, s in shapes.items()}


def _random_like(name: str, like, generator):
    """Weights that make every tensor matter: matrices ~ N(0, 1/fan_in), norms ~ 1 +- 0.1, biases
    and embeddings small but non-zero (a swapped or dropped key changes the logits)."""
    import torch

    shape = tuple(like.shape)
    noise = torch.randn(shape, generator=generator, dtype=torch.float32)
    if "norm" in name and name.endswith("weight"):
        return 1.0 + 0.1 * noise
    if len(shape) >= 2:
        fan_in = 1
        for size in shape[1:]:
            fan_in *= size
        scale = 1.0 if "embed" in name else fan_in**-0.5
        return noise * scale
    return 0.1 * noise


def _save_shards(folder: Path, state: dict, weights: str) -> None:
    """Two shards + an index, the projector in the last one (as LLaVA's save puts it)."""
    import torch
    from safetensors.torch import save_file

    keys = list(state)
    half = len(keys) // 2
    parts = [keys[:half], keys[half:]]
    ext, stem = (".safetensors", "model") if weights == "safetensors" else (".bin", "pytorch_model")
    weight_map, total = {}, 0
    for i, part in enumerate(parts, start=1):
        name = f"{stem}-{i:05d}-of-{len(parts):05d}{ext}"
        shard = {k: state[k].contiguous() for k in part}
        if weights == "safetensors":
            save_file(shard, str(folder / name), metadata={"format": "pt"})
        else:
            torch.save(shard, folder / name)  # test data only: the converter reads it with weights_only
        for k, v in shard.items():
            weight_map[k] = name
            total += v.numel() * v.element_size()
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / f"{stem}{ext}.index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")


# --- the tokenizer ------------------------------------------------------------------------------


def _write_tokenizer(folder: Path, phi3: bool) -> int:
    """A LLaMA-style sentencepiece BPE (byte fallback, "▁" word marker, ids 0-2 <unk> <s> </s>)
    trained on a fixed word list; returns the number of tokens. Files as the RAP checkpoints ship them:
    `tokenizer.model`, `tokenizer_config.json` and `special_tokens_map.json`, no `tokenizer.json`;
    RAP-Phi3 also `added_tokens.json` with Phi-3's added tokens."""
    (folder / "tokenizer.model").write_bytes(_sentencepiece_model())
    eos = "<|endoftext|>" if phi3 else "</s>"
    pad = "<|endoftext|>" if phi3 else "<unk>"
    special_map = {"bos_token": "<s>", "eos_token": eos, "pad_token": pad, "unk_token": "<unk>"}
    base = _SP_VOCAB
    added = _PHI3_ADDED if phi3 else ()
    decoder = {str(i): _added(t) for i, t in enumerate(_SPECIAL)}
    decoder.update({str(base + i): _added(t) for i, t in enumerate(added)})
    config = {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": decoder,
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": False,
        "eos_token": eos,
        "legacy": False,
        "model_max_length": 4096 if phi3 else 2048,
        "pad_token": pad,
        "padding_side": "right",
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizer",
        "unk_token": "<unk>",
        "use_default_system_prompt": False,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (folder / "special_tokens_map.json").write_text(json.dumps(special_map, indent=2), encoding="utf-8")
    if phi3:
        ids = {token: base + i for i, token in enumerate(added)}
        (folder / "added_tokens.json").write_text(json.dumps(ids, indent=2), encoding="utf-8")
    return base + len(added)


_SP_VOCAB = 420  # sentencepiece pieces: 3 specials + 256 bytes + trained merges and characters


def _sentencepiece_model() -> bytes:
    """Trained with LLaMA's sentencepiece settings, deterministic (one thread, fixed input)."""
    import io

    import sentencepiece as spm

    out = io.BytesIO()
    lines = [s.strip() + "." for s in _CORPUS.split(".") if s.strip()] * 4
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=out,
        model_type="bpe",
        vocab_size=_SP_VOCAB,
        byte_fallback=True,
        split_digits=True,
        add_dummy_prefix=True,
        remove_extra_whitespaces=False,
        normalization_rule_name="identity",
        allow_whitespace_only_pieces=True,
        character_coverage=1.0,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    return out.getvalue()


def _added(content: str) -> dict:
    return {
        "content": content,
        "lstrip": False,
        "normalized": False,
        "rstrip": False,
        "single_word": False,
        "special": True,
    }
