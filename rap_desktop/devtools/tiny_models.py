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

TINY_CLIP = "tiny-clip"

# open_clip's hub layout: the same keys the published CLIP configs use, shrunk.
_CLIP_CONFIG = {
    "model_cfg": {
        "embed_dim": 32,
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


def write_tiny_clip(folder: Path, seed: int = 0) -> Path:
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = open_clip.CLIP(**_CLIP_CONFIG["model_cfg"])
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))
    (folder / "open_clip_config.json").write_text(json.dumps(_CLIP_CONFIG, indent=2), encoding="utf-8")
    return folder


def write_all(root: Path) -> Path:
    """Write every tiny model under `root` and `root/config.toml`; returns the config path."""
    root.mkdir(parents=True, exist_ok=True)
    write_tiny_clip(root / TINY_CLIP)
    config = {
        "schema": 1,
        "models": {
            "embedder": TINY_CLIP,
            "device": "cpu",
            "custom": {
                TINY_CLIP: {
                    "kind": "embedder",
                    "backend": "open_clip",
                    "description": "tiny random-weight CLIP for tests (meaningless embeddings)",
                    "path": TINY_CLIP,
                    "files": ["open_clip_config.json", "open_clip_model.safetensors"],
                    "options": {"dim": _CLIP_CONFIG["model_cfg"]["embed_dim"]},
                }
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
