"""The CLIP vision tower a generator needs: its transient spec, whether a checkpoint embeds it, where it is."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelMissingError
from .convert_weights import WeightFiles
from .registry import GENERATOR, ModelSpec


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
