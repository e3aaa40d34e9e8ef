"""Loading a RAP checkpoint into transformers' LlavaForConditionalGeneration, in place or from a copy.

In place: the original-layout safetensors are read where they are (the download), renamed on the fly
(`key_mapping`), and the vocabulary grows by the `<image>` token after loading (new rows = the mean of
the old ones, as the copying converter writes them). The prepared folder then holds only the config,
tokenizer and processor (a few MB) instead of a second full copy of the weights (26 GB for 13B).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import RapError
from .convert_weights import Targets

MARKER = "rap_conversion.json"  # written last by convert.py: its presence means the folder is complete
COPY, IN_PLACE = "copy", "in-place"

# Original LLaVA names -> transformers 5.x names (the copying converter's Targets), as the regular
# expressions from_pretrained's key_mapping takes; applied in turn, so the language-model rule (last)
# no longer sees the projector or the tower. No "*": transformers reads it as a glob. Keys with no
# counterpart (rotary inv_freq, image_newline) are left out as unexpected.
_TO = Targets()
KEY_MAPPING = {
    r"^model\.mm_projector\.0\.": _TO.projector + "linear_1.",
    r"^model\.mm_projector\.2\.": _TO.projector + "linear_2.",
    r"^model\.vision_tower\.vision_tower\.vision_model\.": _TO.vision,
    r"^model\.(embed_tokens|layers|norm)\.": _TO.language_model + r"\1.",
}


def read_marker(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def in_place_supported() -> bool:
    """key_mapping with these (5.x) target names; older releases get the copy."""
    import transformers

    return int(transformers.__version__.split(".")[0]) >= 5


def can_load_in_place(src: Path, tower_embedded: bool) -> bool:
    """The source's own files are enough: safetensors that from_pretrained finds, the tower inside."""
    src = Path(src)
    found = (src / "model.safetensors.index.json").is_file() or (src / "model.safetensors").is_file()
    return tower_embedded and found and in_place_supported()


def load_llava(folder: Path, kwargs: dict[str, Any]):
    """The model of a prepared folder: its own weights (a copy), or the source's read in place."""
    from transformers import AutoConfig, LlavaForConditionalGeneration

    marker = read_marker(folder)
    if marker.get("mode") != IN_PLACE:
        return LlavaForConditionalGeneration.from_pretrained(folder, **kwargs)
    source = Path(marker["weights"])
    if not source.is_dir():
        raise RapError(f"the checkpoint {source} that {folder} loads from is gone; download the model again")
    config = AutoConfig.from_pretrained(folder)
    model, info = LlavaForConditionalGeneration.from_pretrained(
        source, config=config, key_mapping=KEY_MAPPING, output_loading_info=True, **kwargs
    )
    if info["missing_keys"] or info["mismatched_keys"]:
        missing = sorted(info["missing_keys"]) + [str(k) for k in info["mismatched_keys"]]
        raise RapError(f"{source} does not load as LlavaForConditionalGeneration: {', '.join(missing[:5])}")
    grow_vocabulary(model, int(marker["vocab_rows"]))
    return model


def grow_vocabulary(model, rows: int) -> None:
    """Input and output embeddings to `rows` rows, the new ones equal to the mean of the old ones."""
    import torch

    old = model.get_input_embeddings().weight.shape[0]
    if rows <= old:
        return
    model.resize_token_embeddings(rows, mean_resizing=False)
    with torch.no_grad():
        for layer in {id(m): m for m in (model.get_input_embeddings(), model.get_output_embeddings())}.values():
            weight = layer.weight
            weight[old:] = weight[:old].float().mean(dim=0).to(weight.dtype)
