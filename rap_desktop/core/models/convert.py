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
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import ModelMissingError, RapError
from ..fsutil import TEMP_MARK, fsync_dir
from .convert_weights import (  # the weights half of the conversion
    Targets,
    WeightFiles,
    check_plan,
    expected_shapes,
    map_original_key,  # noqa: F401  (public: tests and callers use convert.map_*)
    map_tower_key,  # noqa: F401
    plan_items,
    write_weights,
)
from .disk import check_free_space, free_bytes
from .llava_loading import COPY, IN_PLACE, MARKER, can_load_in_place, read_marker
from .registry import GENERATOR, ModelSpec
from .weights import WEIGHTS_DIR_ENV

ORIGINAL, TRANSFORMERS = "original", "transformers"
IMAGE_TOKEN = "<image>"
CONVERTER_VERSION = 1
DEFAULT_SHARD_BYTES = 4 << 30
_VOCAB_MULTIPLE = 64  # new vocabulary rows are padded to a multiple of 64 (as transformers' own script)
_STALE_TEMP_S = 3600  # a temp folder untouched this long is a crashed conversion's leftover

Progress = Callable[[str, float], None]

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
_PATCH_FEATURES = {"patch": "default", "cls_patch": "full"}  # LLaVA's select_feature -> transformers'


# --- layout -------------------------------------------------------------------------------------


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


# --- config, tokenizer, processor ---------------------------------------------------------------


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


# --- conversion ---------------------------------------------------------------------------------


def _fingerprint(src: Path) -> str:
    """Changes when the checkpoint does: its config and its weight index (or weight file sizes)."""
    digest = hashlib.sha256()
    for path in sorted(src.glob("*.json")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for path in sorted([*src.glob("*.safetensors"), *src.glob("*.bin")]):
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def _remove_stale_temps(dst: Path) -> None:
    # Leftovers of a crashed conversion (a 13B one is 26 GB); a recent one may still be running.
    for temp in dst.parent.glob(f"{dst.name}{TEMP_MARK}*"):
        with contextlib.suppress(OSError):
            if time.time() - temp.stat().st_mtime > _STALE_TEMP_S:
                shutil.rmtree(temp, ignore_errors=True)


@contextlib.contextmanager
def _atomic_folder(dst: Path) -> Iterator[Path]:
    """A temp folder beside `dst`, renamed to `dst` on success, removed on any failure."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(dst)
    temp = dst.with_name(f"{dst.name}{TEMP_MARK}{secrets.token_hex(6)}")
    temp.mkdir()
    try:
        yield temp
        os.replace(temp, dst)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    fsync_dir(dst.parent)


def convert_checkpoint(
    src: Path,
    dst: Path,
    vision_tower: Path,
    template: str,
    progress: Progress | None = None,
    *,
    max_shard_bytes: int = DEFAULT_SHARD_BYTES,
    in_place: bool = False,
    free_space: Callable[[Path], int] = free_bytes,
) -> Path:
    """Convert an original-LLaVA-layout checkpoint in `src` into transformers' layout in `dst`
    (atomically: `dst` appears complete or not at all). `vision_tower` is the CLIP folder (HF
    CLIPModel or CLIPVisionModel layout); its weights are used unless `src` embeds the tower. A `dst`
    that already holds a finished conversion is returned as it is. `progress(message, fraction)` is
    called from this thread with fractions rising to 1.0; raising from it cancels the conversion,
    leaving nothing behind. `in_place`: when the source allows it (safetensors, tower embedded), write
    no weights: `dst` then loads them from `src` (llava_loading.load_llava). A copy is first checked
    against the free space (`free_space(folder)` in bytes)."""
    src, dst, vision_tower = Path(src), Path(dst), Path(vision_tower)
    report = progress or (lambda _message, _fraction: None)
    if is_converted(dst):
        report("already converted", 1.0)
        return dst
    with conversion_lock(dst, report):
        if is_converted(dst):  # another process finished it while this one waited
            report("already converted", 1.0)
            return dst
        return _convert_locked(src, dst, vision_tower, template, report, max_shard_bytes, in_place, free_space)


def lock_path(dst: Path) -> Path:
    """The (empty, hidden) lock file beside `dst`; it stays: unlinking a lock file races."""
    return dst.with_name(f".{dst.name}.lock")


@contextlib.contextmanager
def conversion_lock(dst: Path, report: Progress) -> Iterator[None]:
    """One conversion into `dst` at a time, across processes (a second app instance or a CLI run):
    without it both write the whole copy (26 GB for 13B) and the later one fails at its rename. The
    waiting side reports progress once a second, so it can still be cancelled."""
    from filelock import FileLock, Timeout

    dst.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(dst)))
    while True:
        try:
            lock.acquire(timeout=1)
            break
        except Timeout:
            report(f"waiting for another process converting into {dst}", 0.0)
    try:
        yield
    finally:
        lock.release()


def _convert_locked(
    src: Path,
    dst: Path,
    vision_tower: Path,
    template: str,
    report: Progress,
    max_shard_bytes: int,
    in_place: bool,
    free_space: Callable[[Path], int],
) -> Path:
    if dst.exists():
        raise RapError(f"{dst} already exists and is not a finished conversion; remove it or choose another folder")
    original = read_config(src)
    if _layout_of(original) != ORIGINAL:
        raise RapError(f"{src} is not an original-LLaVA-layout checkpoint")
    _check_original(original)
    chat_template_jinja(template)  # an unknown template fails now, not after the weights are written
    report("reading the checkpoint", 0.0)
    tokenizer = _load_tokenizer(src)
    vocab_rows = int(original["vocab_size"])
    if len(tokenizer) > vocab_rows:
        vocab_rows = -(-len(tokenizer) // _VOCAB_MULTIPLE) * _VOCAB_MULTIPLE
    dtype = _output_dtype(original)
    vision_config = _vision_config(vision_tower)
    config = _llava_config(
        original, _text_config(original, vocab_rows), vision_config, tokenizer.convert_tokens_to_ids(IMAGE_TOKEN), dtype
    )
    expected = expected_shapes(config)
    weights = WeightFiles(src)
    tower = None
    try:
        if not any(k.startswith("model.vision_tower.") for k in weights.where):
            tower = WeightFiles(vision_tower)  # not embedded: the separate CLIP download
        items = plan_items(weights, tower, vocab_rows, Targets.from_keys(set(expected)))
        check_plan(items, expected)  # also for in place: the same names, read by key_mapping
        mode = IN_PLACE if in_place and can_load_in_place(src, tower is None) else COPY
        if mode == COPY:
            how = f"set {WEIGHTS_DIR_ENV} to a folder on a bigger disk (converted copies are kept there)"
            check_free_space(dst.parent, _planned_bytes(items, dtype), f"converting {src.name}", how, free_space)
        with _atomic_folder(dst) as out:
            if mode == COPY:
                write_weights(items, out, dtype, max_shard_bytes, report)
            else:
                config.text_config.vocab_size = int(original["vocab_size"])  # the source's rows; grown on load
            report("writing config, tokenizer and processor", 0.92)
            _write_extras(
                src, out, config, tokenizer, _image_processor(original, vision_tower, vision_config), template
            )
            marker = {
                "converter": CONVERTER_VERSION,
                "mode": mode,
                "source": str(src),
                "fingerprint": _fingerprint(src),
                "vision_tower": str(vision_tower),
                "template": template,
                **({"weights": str(src), "vocab_rows": vocab_rows} if mode == IN_PLACE else {}),
            }
            (out / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
    finally:
        weights.close()
        if tower is not None:
            tower.close()
    report("converted", 1.0)
    return dst


def _planned_bytes(items, dtype) -> int:
    import math

    import torch

    return sum(math.prod(i.shape) for i in items) * torch.empty((), dtype=dtype).element_size()


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


def vision_tower_spec(repo: str, for_model: str = "", configs_only: bool = False) -> ModelSpec:
    """A transient spec for the CLIP tower a generator needs (not a registry entry: the registry has
    no vision kind). Weight file names vary between repos, so only the configs are required here;
    `configs_only` downloads nothing else (the checkpoint holds the tower's weights)."""
    owner = f" (needed by {for_model})" if for_model else ""
    patterns = ("*.json",) if configs_only else ("*.json", "*.safetensors", "pytorch_model*.bin")
    return ModelSpec(
        name=f"{repo} vision tower{owner}",
        kind=GENERATOR,
        backend="clip-vision",
        hub_repo=repo,
        files=("config.json", "preprocessor_config.json"),
        size_mb=1 if configs_only else 1710,
        options={"download_patterns": patterns},
    )


def tower_embedded(checkpoint: Path) -> bool:
    """Whether an original-layout checkpoint holds its vision tower's weights (both RAP ones do)."""
    try:
        weights = WeightFiles(Path(checkpoint))
    except ModelMissingError:
        return False
    try:
        return any(k.startswith("model.vision_tower.") for k in weights.where)
    finally:
        weights.close()


def resolve_vision_tower(ref: str, for_model: str = "", cache_dir: Path | None = None) -> Path:
    """`ref` is a local folder or a hub repo id (looked up in the hub cache only, never downloaded)."""
    from .weights import resolve

    local = Path(ref).expanduser()
    if local.is_dir():
        return local
    resolution = resolve(vision_tower_spec(ref, for_model), cache_dir)
    if resolution.path is None:
        raise ModelMissingError(
            f"the vision tower {ref}{f' needed by {for_model!r}' if for_model else ''} is not available: looked in "
            f"{'; '.join(resolution.looked)}; `rap-desktop models fetch {for_model or ref}` downloads it"
        )
    return resolution.path
