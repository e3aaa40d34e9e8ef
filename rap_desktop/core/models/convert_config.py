"""The converted folder's config, tokenizer, image processor and chat template, made from the original's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import RapError
from .convert_layout import _PATCH_FEATURES, _text_type

IMAGE_TOKEN = "<image>"

# Original config keys that describe LLaVA's multimodal wiring or training, not the text model.
_NOT_TEXT = {
    "architectures",
    "model_type",
    "_name_or_path",
    "transformers_version",
    "torch_dtype",
    "dtype",
    "max_length",
    "pretraining_tp",
    "auto_map",
    "image_aspect_ratio",
    "image_grid_pinpoints",
    "image_crop_resolution",
    "image_split_resolution",
    "use_mm_proj",
    "tokenizer_model_max_length",
    "tokenizer_padding_side",
}
_NOT_TEXT_PREFIXES = ("mm_", "tune_", "freeze_", "unfreeze_", "s2")
_DTYPES = {
    "float16": "float16",
    "fp16": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float32": "float32",
    "fp32": "float32",
}

def _output_dtype(original: dict[str, Any]):
    import torch

    # The dtype it was saved in (LLaVA runs the CLIP tower in that dtype too); fp16 if unstated.
    name = _DTYPES.get(str(original.get("torch_dtype") or original.get("dtype") or "float16"), "float16")
    return getattr(torch, name)


def _text_config(original: dict[str, Any], vocab_rows: int):
    from transformers import AutoConfig

    fields = {k: v for k, v in original.items() if k not in _NOT_TEXT and not k.startswith(_NOT_TEXT_PREFIXES)}
    if fields.get("rope_scaling") is None:
        fields.pop("rope_scaling", None)  # an explicit null only triggers a deprecation warning
    fields["vocab_size"] = vocab_rows
    return AutoConfig.for_model(_text_type(original), **fields)


def _vision_config(tower: Path):
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig.from_pretrained(tower)  # takes vision_config out of a full CLIPModel config


def _llava_config(original: dict[str, Any], text_config, vision_config, image_token_id: int, dtype):
    from transformers import LlavaConfig

    if original.get("mm_hidden_size", vision_config.hidden_size) != vision_config.hidden_size:
        raise RapError(
            f"the checkpoint's projector expects {original['mm_hidden_size']}-d image features but the "
            f"vision tower gives {vision_config.hidden_size}-d ones: wrong vision tower"
        )
    patches = (vision_config.image_size // vision_config.patch_size) ** 2
    config = LlavaConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_index=image_token_id,
        image_seq_length=patches,
        projector_hidden_act="gelu",  # nn.GELU() in mlp2x_gelu: the exact (erf) GELU
        vision_feature_layer=int(original.get("mm_vision_select_layer", -2)),
        vision_feature_select_strategy=_PATCH_FEATURES[original.get("mm_vision_select_feature", "patch")],
        multimodal_projector_bias=True,
        tie_word_embeddings=bool(getattr(text_config, "tie_word_embeddings", False)),
    )
    config.architectures = ["LlavaForConditionalGeneration"]
    config.dtype = str(dtype).removeprefix("torch.")
    return config


def _load_tokenizer(src: Path):
    from transformers import AddedToken, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(src, trust_remote_code=False)
    except (OSError, ValueError, ImportError) as exc:
        raise RapError(
            f"cannot load the tokenizer in {src}: {exc} (a checkpoint with only the sentencepiece "
            "tokenizer.model needs the sentencepiece package to convert)"
        ) from None
    if IMAGE_TOKEN not in tokenizer.get_vocab():
        # LLaVA inserted IMAGE_TOKEN_INDEX (-200) between tokenized chunks at run time; transformers
        # needs a real token that the processor expands to one per image patch.
        tokenizer.add_tokens([AddedToken(IMAGE_TOKEN, special=True, normalized=False)], special_tokens=True)
    if tokenizer.pad_token is None and tokenizer.unk_token is not None:
        tokenizer.pad_token = tokenizer.unk_token  # what LLaVA's v1 training used
    return tokenizer


def _image_processor(original: dict[str, Any], tower: Path, vision_config):
    """LLaVA-1.5's preprocessing: pad to square with the mean colour (image_aspect_ratio "pad"), then
    CLIP's resize-shortest-side + centre crop, bicubic, rescale, normalise."""
    from transformers.models.llava.image_processing_pil_llava import LlavaImageProcessorPil

    found = {}
    path = tower / "preprocessor_config.json"
    if path.is_file():
        found = json.loads(path.read_text(encoding="utf-8"))
    size = _edge(found.get("size"), "shortest_edge", vision_config.image_size)
    crop = _edge(found.get("crop_size"), "height", vision_config.image_size)
    return LlavaImageProcessorPil(
        size={"shortest_edge": size},
        crop_size={"height": crop, "width": crop},
        image_mean=found.get("image_mean", [0.48145466, 0.4578275, 0.40821073]),
        image_std=found.get("image_std", [0.26862954, 0.26130258, 0.27577711]),
        resample=found.get("resample", 3),  # 3 = bicubic
        do_pad=original.get("image_aspect_ratio") == "pad",
    )


def _edge(value: Any, key: str, default: int) -> int:
    if isinstance(value, dict):
        return int(value.get(key) or value.get("shortest_edge") or default)
    return int(value or default)


def chat_template_jinja(name: str) -> str:
    """The Jinja chat template for a conversation template of prompting.py, so that
    apply_chat_template gives the same text as prompting's render. Message content is a string or a
    list of {"type": "image"} / {"type": "text", "text": ...}; an image item renders as "<image>\\n"
    (LLaVA always follows the image token with a newline). A leading system message replaces the
    default system line."""
    from ..prompting import template

    t = template(name)

    def lit(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid Jinja string literal

    return (
        f"{{%- set system = {lit(t.system)} -%}}"
        "{%- if messages and messages[0]['role'] == 'system' -%}"
        "{%- if messages[0]['content'] is string -%}{%- set system = messages[0]['content'] -%}"
        "{%- else -%}{%- set system = messages[0]['content'] | selectattr('type', 'equalto', 'text')"
        " | map(attribute='text') | join('') -%}{%- endif -%}"
        "{%- endif -%}"
        f"{{{{- {lit(t.system_prefix)} + system + {lit(t.system_suffix)} -}}}}"
        "{%- for message in messages if message['role'] != 'system' -%}"
        "{%- if message['content'] is string -%}{%- set text = message['content'] -%}"
        "{%- else -%}{%- set ns = namespace(text='') -%}"
        "{%- for item in message['content'] -%}"
        f"{{%- if item['type'] == 'image' -%}}{{%- set ns.text = ns.text + {lit(IMAGE_TOKEN + chr(10))} -%}}"
        "{%- elif item['type'] == 'text' -%}{%- set ns.text = ns.text + item['text'] -%}{%- endif -%}"
        "{%- endfor -%}{%- set text = ns.text -%}"
        "{%- endif -%}"
        "{%- if message['role'] == 'user' -%}"
        f"{{{{- {lit(t.user_prefix)} + text + {lit(t.user_suffix)} -}}}}"
        "{%- else -%}"
        f"{{{{- {lit(t.assistant_prefix)} + text + {lit(t.assistant_suffix)} -}}}}"
        "{%- endif -%}"
        "{%- endfor -%}"
        f"{{%- if add_generation_prompt -%}}{{{{- {lit(t.generation_prefix)} -}}}}{{%- endif -%}}"
    )


def _write_extras(src: Path, out: Path, config, tokenizer, image_processor, template: str) -> None:
    from transformers import GenerationConfig, LlavaProcessor

    config.save_pretrained(out)
    if (src / "generation_config.json").is_file():
        GenerationConfig.from_pretrained(src).save_pretrained(out)
    vision = config.vision_config
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=vision.patch_size,
        vision_feature_select_strategy=config.vision_feature_select_strategy,
        num_additional_image_tokens=1,  # CLIP's CLS token, which "default" then drops
        chat_template=chat_template_jinja(template),
    )
    processor.save_pretrained(out)
    # Also the plain preprocessor_config.json (older transformers and AutoImageProcessor look for it).
    image_processor.to_json_file(str(out / "preprocessor_config.json"))

