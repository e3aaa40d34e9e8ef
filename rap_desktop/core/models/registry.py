"""The model registry: every model the app knows, as data.

One frozen `ModelSpec` per model. Built-in entries describe the published checkpoints; a settings
file may add entries (`[models.custom.NAME]`, e.g. the tiny test models) or point any entry at a
local folder. Code picks behaviour by a spec's fields, never by matching its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

EMBEDDER = "embedder"
DETECTOR = "detector"
GENERATOR = "generator"
KINDS = (EMBEDDER, DETECTOR, GENERATOR)


@dataclass(frozen=True)
class ModelSpec:
    name: str  # registry key; also the model id stored with every vector it makes
    kind: str  # embedder | detector | generator
    backend: str  # open_clip | ultralytics | ultralytics-world | rap-llava
    description: str = ""
    hub_repo: str | None = None  # Hugging Face repo the weights come from
    download_url: str | None = None  # or a plain URL of a single weights file (files[0])
    files: tuple[str, ...] = ()  # files that must be present in the folder (or hub snapshot)
    size_mb: int = 0  # download size, shown before fetching
    local_path: str | None = None  # a folder (or file) given by the settings; looked at first
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def with_path(self, path: str | None) -> ModelSpec:
        return replace(self, local_path=path)


def _spec(**kwargs: Any) -> ModelSpec:
    options = MappingProxyType(dict(kwargs.pop("options", {})))
    return ModelSpec(options=options, **kwargs)


_OPEN_CLIP_FILES = ("open_clip_config.json", "open_clip_model.safetensors")

_EMBEDDERS: tuple[ModelSpec, ...] = (
    _spec(
        name="clip-vit-l-14-336",
        kind=EMBEDDER,
        backend="open_clip",
        description="CLIP ViT-L/14 at 336 px (OpenAI weights), the RAP paper's retriever; best on a GPU",
        hub_repo="timm/vit_large_patch14_clip_336.openai",
        files=_OPEN_CLIP_FILES,
        size_mb=1710,
        options={"dim": 768, "image_size": 336},
    ),
    _spec(
        name="clip-vit-b-32",
        kind=EMBEDDER,
        backend="open_clip",
        description="CLIP ViT-B/32 (OpenAI weights): ~25x faster on a CPU, somewhat less precise",
        hub_repo="timm/vit_base_patch32_clip_224.openai",
        files=_OPEN_CLIP_FILES,
        size_mb=605,
        options={"dim": 512, "image_size": 224},
    ),
)

# ultralytics publishes its checkpoints as GitHub release assets, not on the Hugging Face hub.
# The tag is the one the installed ultralytics (8.4) downloads its own assets from.
_ULTRALYTICS_ASSETS = "https://github.com/ultralytics/assets/releases/download/v8.4.0/"
# Detector options: the open_clip model whose text tower makes the class prompts (YOLO-World was
# trained with OpenAI CLIP ViT-B/32 text features = open_clip ViT-B-32/openai), the reference
# confidence threshold, and the inference size.
_WORLD_OPTIONS = {"text_encoder": "clip-vit-b-32", "confidence": 0.1, "image_size": 640}


def _ultralytics(name: str, file: str, size_mb: int, description: str, world: bool = True) -> ModelSpec:
    options = _WORLD_OPTIONS if world else {"confidence": 0.25, "image_size": 640}
    return _spec(
        name=name,
        kind=DETECTOR,
        backend="ultralytics-world" if world else "ultralytics",
        description=description,
        download_url=_ULTRALYTICS_ASSETS + file,
        files=(file,),
        size_mb=size_mb,
        options=options,
    )


_DETECTORS: tuple[ModelSpec, ...] = (
    _ultralytics(
        "yolo-world-v2-x",
        "yolov8x-worldv2.pt",
        146,
        "YOLO-World v2 x, open-vocabulary, the RAP reference detector; best on a GPU",
    ),
    _ultralytics(
        "yolo-world-v2-s",
        "yolov8s-worldv2.pt",
        26,
        "YOLO-World v2 s, open-vocabulary: ~6x faster on a CPU, finds somewhat less",
    ),
    _ultralytics(
        "yolo-v8-s-coco",
        "yolov8s.pt",
        22,
        "YOLOv8 s, fixed 80 COCO classes (ignores concept categories); no text encoder needed",
        world=False,
    ),
)

# RAP generators. Both are published in the ORIGINAL LLaVA repository layout (convert.py prepares them
# for transformers' LlavaForConditionalGeneration once, cached) with the CLIP tower's weights inside;
# the tower's repo below supplies its configs. `files` are the names every such repo has (weights.resolve
# checks exact names); the weight shards' names and format (.safetensors or .bin) vary, so fetching uses
# `download_patterns` (narrowed to one format by weights.download_patterns once the repo's list is known).
_RAP_VISION_TOWER = "openai/clip-vit-large-patch14-336"
_RAP_FILES = ("config.json", "tokenizer_config.json")
_RAP_DOWNLOAD = ("*.json", "tokenizer.model", "*.safetensors", "pytorch_model*.bin")


def _rap(name: str, repo: str, size_mb: int, description: str, **options: Any) -> ModelSpec:
    common = {
        "vision_tower": _RAP_VISION_TOWER,  # hub repo (or a local folder) of the CLIP tower it was trained with
        "tower_in_checkpoint": True,  # both published checkpoints hold the tower's weights: fetch its configs only
        "image_aspect": "pad",  # LLaVA-1.5: pad to square with the CLIP mean colour, then resize
        "layout": "original",  # LLaVA's own repository layout: converted on first use
        "download_patterns": _RAP_DOWNLOAD,
    }
    return _spec(
        name=name,
        kind=GENERATOR,
        backend="rap-llava",
        description=description,
        hub_repo=repo,
        files=_RAP_FILES,
        size_mb=size_mb,
        options={**common, **options},
    )


_GENERATORS: tuple[ModelSpec, ...] = (
    _rap(
        "rap-llava-13b",
        "Hoar012/RAP-LLaVA-13b",
        26000,
        "RAP-LLaVA 13B (from LLaVA-1.5-13B), the RAP paper's main model; ~9 GB of GPU memory in 4-bit",
        template="vicuna_v1",  # `--version v1` in RAP's training = conv_vicuna_v1
        concept_limit=2,  # concepts per prompt it was trained with
        base="llava-v1.5-13b",
        params_b=13.4,  # text model + CLIP tower + projector, for the memory check
        lighter="rap-phi3-mini",
    ),
    _rap(
        "rap-phi3-mini",
        "Hoar012/RAP-Phi3-mini",
        8200,
        "RAP-Phi3-V mini (from LLaVA-Phi-3-mini-4k-instruct): for smaller GPUs (~3.5 GB in 4-bit)",
        template="phi3_instruct",
        concept_limit=3,
        base="LLaVA-Phi-3-mini-4k-instruct",
        params_b=4.1,
    ),
)

BUILTIN: tuple[ModelSpec, ...] = _EMBEDDERS + _DETECTORS + _GENERATORS

# What "auto" means, per kind and hardware: the reference models on CUDA, light ones on a CPU.
AUTO_CHOICE: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        EMBEDDER: MappingProxyType({"cuda": "clip-vit-l-14-336", "cpu": "clip-vit-b-32"}),
        DETECTOR: MappingProxyType({"cuda": "yolo-world-v2-x", "cpu": "yolo-world-v2-s"}),
        # No CPU runs a 13B model usefully; the small one at least loads there.
        GENERATOR: MappingProxyType({"cuda": "rap-llava-13b", "cpu": "rap-phi3-mini"}),
    }
)


class Registry:
    """The built-in specs plus those a settings file adds or re-points."""

    def __init__(self, specs: tuple[ModelSpec, ...] = BUILTIN) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ModelSpec) -> None:
        if spec.kind not in KINDS:
            raise ValueError(f"model {spec.name!r}: unknown kind {spec.kind!r} (expected one of {KINDS})")
        self._specs[spec.name] = spec

    def set_path(self, name: str, path: str) -> None:
        self._specs[name] = self.get(name).with_path(path)

    def get(self, name: str) -> ModelSpec:
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(sorted(self._specs))
            raise KeyError(f"unknown model {name!r}; known models: {known}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._specs

    def all(self, kind: str | None = None) -> list[ModelSpec]:
        return [s for s in self._specs.values() if kind is None or s.kind == kind]
