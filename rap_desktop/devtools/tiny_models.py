"""Write tiny random-weight models in the real on-disk formats, plus a config that uses them.

    python -m rap_desktop.devtools.tiny_models DIR

Every command then runs offline with RAP_DESKTOP_CONFIG=DIR/config.toml. The answers are
meaningless, but each model is loaded through exactly the code that loads real checkpoints.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import tomli_w

import rap_desktop.torch_compat  # noqa: F401  (before open_clip pulls in torchvision)
from rap_desktop.devtools.tiny_rap import write_tiny_rap

TINY_CLIP = "tiny-clip"
TINY_RAP = "tiny-rap"
TINY_WORLD = "tiny-yolo-world"

# open_clip's hub layout: the same keys the published CLIP configs use, shrunk. The shared
# embedding stays 512-d: YOLO-World v2 takes 512-d CLIP text features as class prompts.
_CLIP_CONFIG = {
    "model_cfg": {
        "embed_dim": 512,
        "quick_gelu": True,
        "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    },
    "preprocess_cfg": {
        "mean": [0.48145466, 0.4578275, 0.40821073],
        "std": [0.26862954, 0.26130258, 0.27577711],
        "interpolation": "bicubic",
        "resize_mode": "shortest",
    },
}


def write_tiny_clip(folder: Path, seed: int = 0, embed_dim: int | None = None) -> Path:
    import open_clip
    import torch
    from safetensors.torch import save_file

    config = json.loads(json.dumps(_CLIP_CONFIG))  # a deep copy
    if embed_dim is not None:
        config["model_cfg"]["embed_dim"] = embed_dim
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = open_clip.CLIP(**config["model_cfg"])
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))
    (folder / "open_clip_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return folder


# ultralytics' own YOLO-World v2 model file; the "n" in the name picks its smallest scale.
_WORLD_YAML = "yolov8n-worldv2.yaml"
_WORLD_OPTIONS = {"text_encoder": TINY_CLIP, "confidence": 0.1, "image_size": 320, "max_detections": 10}


def _calibrate(net, images: list[Path], size: int = 320) -> None:
    """Measure every BatchNorm's statistics on real photos (one train-mode pass, no weight change)
    and open the contrastive head's scores a little. Left at init, a random network's class scores
    all sit at sigmoid(-10): nothing is ever detected. After this a few boxes pass 0.1."""
    import numpy as np
    import torch
    from PIL import Image

    batch = torch.stack([torch.from_numpy(np.array(Image.open(p).convert("RGB").resize((size, size)))) for p in images])
    batch = batch.permute(0, 3, 1, 2).float() / 255  # the RGB 0..1 NCHW ultralytics feeds its models
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a plain average over this one batch
    net.train()
    with torch.no_grad():
        net.predict(batch)
    net.eval()
    for norm in norms:
        norm.momentum = 0.03  # ultralytics' value
    for head in net.model[-1].cv4:  # BNContrastiveHead: score = sim * exp(logit_scale) + bias
        head.logit_scale.data.fill_(-1.5)
        head.bias.data.fill_(-3.0)


def write_tiny_yolo_world(folder: Path, seed: int = 0) -> Path:
    """A random-weight YOLO-World v2 (n scale, ~3.7 M parameters) saved by ultralytics itself as a
    real checkpoint: {"model": WorldModel in fp16, "ema": None, "date", "version", ...}."""
    import torch

    from rap_desktop.core.models.detector import import_ultralytics

    ultralytics = import_ultralytics()
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = ultralytics.YOLOWorld(_WORLD_YAML, verbose=False)
    assets = Path(ultralytics.__file__).parent / "assets"
    _calibrate(model.model, [assets / "bus.jpg", assets / "zidane.jpg"])
    path = folder / f"{TINY_WORLD}.pt"
    model.save(str(path))
    return path


def write_all(root: Path) -> Path:
    """Write every tiny model under `root` and `root/config.toml`; returns the config path."""
    root.mkdir(parents=True, exist_ok=True)
    write_tiny_clip(root / TINY_CLIP)
    world = write_tiny_yolo_world(root / TINY_WORLD)
    rap = write_tiny_rap(root / TINY_RAP, "llava_v1")
    config = {
        "schema": 1,
        "models": {
            "embedder": TINY_CLIP,
            "detector": TINY_WORLD,
            "generator": TINY_RAP,
            "device": "cpu",
            "custom": {
                TINY_CLIP: {
                    "kind": "embedder",
                    "backend": "open_clip",
                    "description": "tiny random-weight CLIP for tests (meaningless embeddings)",
                    "path": TINY_CLIP,
                    "files": ["open_clip_config.json", "open_clip_model.safetensors"],
                    "options": {"dim": _CLIP_CONFIG["model_cfg"]["embed_dim"]},
                },
                TINY_WORLD: {
                    "kind": "detector",
                    "backend": "ultralytics-world",
                    "description": "tiny random-weight YOLO-World v2 for tests (meaningless boxes)",
                    "path": str(world.relative_to(root)),
                    "options": _WORLD_OPTIONS,
                },
                TINY_RAP: {
                    "kind": "generator",
                    "backend": "rap-llava",
                    "description": "tiny random-weight RAP-LLaVA in the original LLaVA layout (meaningless text)",
                    "path": str(rap.checkpoint.relative_to(root)),
                    "files": ["config.json", "tokenizer_config.json"],
                    # options are not resolved against this file's folder: the tower path is absolute
                    "options": {
                        "template": "vicuna_v1",
                        "concept_limit": 2,
                        "vision_tower": str(rap.vision_tower.resolve()),
                        "image_aspect": "pad",
                        "layout": "original",
                    },
                },
            },
        },
    }
    path = root / "config.toml"
    path.write_bytes(tomli_w.dumps(config).encode("utf-8"))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="folder to write the models and config.toml into")
    args = parser.parse_args(argv)
    path = write_all(args.dir)
    print(f"wrote tiny models; use RAP_DESKTOP_CONFIG={path}", file=sys.stderr)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
