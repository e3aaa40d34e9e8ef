"""Original-LLaVA-layout checkpoints -> transformers' LlavaForConditionalGeneration, once, cached.

The RAP checkpoints are published as LLaVA's own code saves them: a causal LM (`LlavaLlamaForCausalLM`
or `LlavaPhiForCausalLM`) whose config carries `mm_*` fields, the projector as `model.mm_projector.{0,2}`
(Linear, GELU, Linear) and the CLIP ViT-L/14-336 tower's weights under `model.vision_tower.vision_tower.*`
(older saves leave them out: the tower's own repo then supplies them). The prepared folder holds what
transformers needs: config (LlavaConfig), tokenizer with an `<image>` token, the image processor
(LLaVA-1.5's pad-to-square), a chat template, and either safetensors shards (a copy) or nothing more:
on first use a safetensors checkpoint holding its tower is read in place (llava_loading.py), renamed
by the same mapping while loading. Conversions into one folder are serialised by a file lock; a copy is
checked against the free disk space first.

Key mapping (the installed transformers' names, read off a meta-device model before anything is
written; with transformers 5.x):

    model.embed_tokens / model.layers.* / model.norm    -> model.language_model.*
    lm_head.weight                                      -> lm_head.weight
    model.mm_projector.0.* / model.mm_projector.2.*     -> model.multi_modal_projector.linear_1.* / linear_2.*
    tower folder: vision_model.*                        -> model.vision_tower.*  (CLIPVisionModel lost its
                                                           `vision_model.` level in 5.x; 4.x: ...vision_model.*)
    embedded: model.vision_tower.vision_tower.vision_model.* -> the same place as the tower folder's

The vocabulary gains an `<image>` token when the tokenizer lacks one; embedding and output rows grow to
a multiple of 64 only when the token does not fit in the existing rows (new rows = mean of the old).

Safety: safetensors are read with safetensors; `.bin` shards (older LLaVA saves) only with torch's
restricted unpickler (`weights_only=True`, memory-mapped), never executing code. Output is always
safetensors. Remote code is never trusted. Memory: one output shard at a time.

The work is split by job: the layout and config.json (convert_layout.py), the new config, tokenizer,
processor and chat template (convert_config.py), the key mapping and weight shards (convert_weights.py),
writing the folder under its lock (convert_folder.py), the CLIP tower (convert_tower.py). This module
prepares a download on first use and re-exports the public names.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from ..fsutil import TEMP_MARK
from .convert_config import IMAGE_TOKEN, chat_template_jinja
from .convert_folder import (
    CONVERTER_VERSION,
    DEFAULT_SHARD_BYTES,
    Progress,
    _fingerprint,
    conversion_lock,
    convert_checkpoint,
    lock_path,
)
from .convert_layout import (
    ORIGINAL,
    TRANSFORMERS,
    check_transformers_folder,
    detect_layout,
    guess_template,
    is_converted,
    read_config,
)
from .convert_tower import resolve_vision_tower, tower_embedded, vision_tower_spec
from .convert_weights import Targets, map_original_key, map_tower_key
from .llava_loading import MARKER, read_marker

__all__ = [
    "CONVERTER_VERSION",
    "DEFAULT_SHARD_BYTES",
    "IMAGE_TOKEN",
    "MARKER",
    "ORIGINAL",
    "TEMP_MARK",
    "TRANSFORMERS",
    "Progress",
    "Targets",
    "chat_template_jinja",
    "check_transformers_folder",
    "conversion_lock",
    "convert_checkpoint",
    "converted_cache_dir",
    "converted_path",
    "detect_layout",
    "ensure_transformers_layout",
    "guess_template",
    "is_converted",
    "lock_path",
    "map_original_key",
    "map_tower_key",
    "read_config",
    "remove_stale_conversions",
    "resolve_vision_tower",
    "tower_embedded",
    "vision_tower_spec",
]

# --- first use: resolve, convert once, reuse ----------------------------------------------------


def converted_cache_dir() -> Path:
    from .weights import weights_cache_dir

    return weights_cache_dir() / "converted"


def converted_path(src: Path, name: str, cache_root: Path | None = None) -> Path:
    """Where the converted copy of `src` lives: per model name and source fingerprint, so an updated
    download is converted again instead of silently reusing a stale copy."""
    return (cache_root or converted_cache_dir()) / f"{name}-{_fingerprint(Path(src))}"


def ensure_transformers_layout(
    src: Path,
    name: str,
    vision_tower: Path | Callable[[], Path],
    template: str,
    progress: Progress | None = None,
    cache_root: Path | None = None,
) -> Path:
    """The folder to load: `src` itself when it is already in transformers' layout, else its prepared
    folder (made now if missing): in place (config, tokenizer, processor; the weights read from `src`)
    when the source allows it, a converted copy otherwise. A folder prepared for an earlier version of
    `src` is removed. `vision_tower` may be a callable, so the tower is only resolved (or reported
    missing) when a conversion is actually needed."""
    src = Path(src)
    if detect_layout(src) == TRANSFORMERS:
        return check_transformers_folder(src)
    dst = converted_path(src, name, cache_root)
    if not is_converted(dst):
        tower = vision_tower() if callable(vision_tower) else vision_tower
        convert_checkpoint(src, dst, tower, template, progress, in_place=True)
    remove_stale_conversions(dst)
    return dst


def remove_stale_conversions(current: Path) -> list[Path]:
    """Remove the other prepared folders of the same source and model name (made by this app: they
    carry its marker) whose source fingerprint is no longer the source's (for a hub download: any
    snapshot of the same repo)."""
    mine = read_marker(current)
    removed = []
    name = current.name.rsplit("-", 1)[0]
    for other in current.parent.glob(f"{name}-*"):
        if other == current or not other.is_dir() or TEMP_MARK in other.name:
            continue
        marker = read_marker(other)
        same_source = _source_home(marker.get("source")) == _source_home(mine.get("source"))
        if marker and same_source and marker.get("fingerprint") != mine.get("fingerprint"):
            with conversion_lock(other, lambda _message, _fraction: None):  # not while it is being made
                shutil.rmtree(other, ignore_errors=True)
            removed.append(other)
    return removed


def _source_home(source: str | None) -> str | None:
    """A hub download's repo folder (an update is a new snapshots/<commit> folder), else the folder."""
    if not source:
        return None
    path = Path(source)
    return str(path.parent.parent) if path.parent.name == "snapshots" else str(path)
