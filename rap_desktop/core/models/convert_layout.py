"""Reading a checkpoint's layout: its config.json, original LLaVA or transformers, and its text model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import RapError
from .llava_loading import MARKER

ORIGINAL, TRANSFORMERS = "original", "transformers"

# The original class -> the transformers text model it wraps (key names are that model's own).
_TEXT_TYPES = {
    "LlavaLlamaForCausalLM": "llama",
    "LlavaMistralForCausalLM": "mistral",
    "LlavaPhiForCausalLM": "phi3",  # RAP-Phi3 / LLaVA-Phi-3 (LLaVA++): Phi3ForCausalLM inside
    "LlavaPhi3ForCausalLM": "phi3",
}
_TEXT_TYPES_BY_MODEL_TYPE = {
    "llava": "llama",
    "llava_llama": "llama",
    "llava_mistral": "mistral",
    "llava_phi": "phi3",
    "llava_phi3": "phi3",
}
_PATCH_FEATURES = {"patch": "default", "cls_patch": "full"}  # LLaVA's select_feature -> transformers'


def read_config(folder: Path) -> dict[str, Any]:
    path = Path(folder) / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RapError(f"{folder} is not a model folder: it has no config.json") from None
    except (OSError, ValueError) as exc:
        raise RapError(f"cannot read {path}: {exc}") from None


def _layout_of(config: dict[str, Any]) -> str | None:
    architectures = config.get("architectures") or []
    if "LlavaForConditionalGeneration" in architectures or (
        config.get("model_type") == "llava" and "text_config" in config and "vision_config" in config
    ):
        return TRANSFORMERS
    if "mm_vision_tower" in config or any(a in _TEXT_TYPES for a in architectures):
        return ORIGINAL
    return None


def detect_layout(folder: Path) -> str:
    """Which layout `folder` is in: ORIGINAL (LLaVA's own repository) or TRANSFORMERS
    (LlavaForConditionalGeneration)."""
    layout = _layout_of(read_config(folder))
    if layout is None:
        raise RapError(f"{folder} holds neither an original LLaVA checkpoint nor a transformers LLaVA one")
    return layout


def guess_template(folder: Path) -> str:
    """The conversation template the reference uses for this text model (for `models convert`
    without a registry entry): Phi-3 -> phi3_instruct, otherwise vicuna_v1 (LLaVA-1.5's `--version v1`)."""
    return "phi3_instruct" if _text_type(read_config(folder)) == "phi3" else "vicuna_v1"


def _text_type(config: dict[str, Any]) -> str:
    for arch in config.get("architectures") or []:
        if arch in _TEXT_TYPES:
            return _TEXT_TYPES[arch]
    found = _TEXT_TYPES_BY_MODEL_TYPE.get(str(config.get("model_type")))
    if found is None:
        raise RapError(
            f"unsupported original LLaVA text model: {config.get('architectures')} / {config.get('model_type')!r}"
        )
    return found


def _check_original(config: dict[str, Any]) -> None:
    """Refuse variants the LlavaForConditionalGeneration architecture cannot express."""
    problems = []
    if config.get("mm_projector_type", "linear") != "mlp2x_gelu":
        problems.append(f"projector {config.get('mm_projector_type')!r} (only mlp2x_gelu)")
    if config.get("mm_patch_merge_type", "flat") != "flat":
        problems.append(f"patch merge {config.get('mm_patch_merge_type')!r} (only flat)")
    if config.get("image_aspect_ratio", "square") not in ("pad", "square"):
        problems.append(f"image_aspect_ratio {config.get('image_aspect_ratio')!r} (only pad or square)")
    if config.get("mm_vision_select_feature", "patch") not in _PATCH_FEATURES:
        problems.append(f"select feature {config.get('mm_vision_select_feature')!r}")
    if config.get("mm_use_im_start_end"):
        problems.append("mm_use_im_start_end (image start/end tokens)")
    if problems:
        raise RapError("cannot convert this LLaVA checkpoint: unsupported " + "; ".join(problems))


def is_converted(folder: Path) -> bool:
    return (Path(folder) / MARKER).is_file()


def check_transformers_folder(folder: Path) -> Path:
    """An already-converted folder is used as it is, if it has safetensors weights (nothing else is loaded)."""
    folder = Path(folder)
    if detect_layout(folder) != TRANSFORMERS:
        raise RapError(f"{folder} is not in transformers' LLaVA layout")
    if not (folder / "model.safetensors").is_file() and not (folder / "model.safetensors.index.json").is_file():
        raise RapError(
            f"{folder} has no safetensors weights (model.safetensors[.index.json]); only safetensors are loaded"
        )
    return folder

