"""Generator figures in the real shapes: load time, peak GPU memory, time to first token, decode tokens/s.

Random weights in the exact RAP-LLaVA-13B (or RAP-Phi3-mini) shapes are written as a transformers
checkpoint (the processor and tokenizer come from the tiny converted RAP model), then loaded through
`RapGenerator` — the same 4-bit NF4 path the app uses — and asked one question about a photo with two
concept photos (three images, as RAP's prompt has). Weights are random, so the text is noise; the
timings and memory are those of the real shapes.

    .venv/bin/python benchmarks/generator_gpu.py --shape rap-llava-13b --quantization 4bit
    .venv/bin/python benchmarks/generator_gpu.py --shape small --device cpu --quantization fp32  # dry run

Writes one row per run to benchmarks/results/generator_gpu.md (with the device named).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import rap_desktop.torch_compat  # noqa: F401

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "generator_gpu.md"

# text model shapes (from the base models' config.json); every RAP model uses CLIP-L/336 as its tower
SHAPES = {
    "rap-llava-13b": dict(hidden=5120, intermediate=13824, layers=40, heads=40, kv=40, vocab=32064),
    "rap-phi3-mini": dict(hidden=3072, intermediate=8192, layers=32, heads=32, kv=32, vocab=32064),
    "small": dict(hidden=256, intermediate=512, layers=2, heads=4, kv=4, vocab=512),  # a dry run on a CPU
}
CLIP_L_336 = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16)
SHARD_BYTES = 4 << 30


def _config(tiny_converted: Path, shape: str) -> dict:
    config = json.loads((tiny_converted / "config.json").read_text())
    s = SHAPES[shape]
    text = config["text_config"]
    text.update(
        hidden_size=s["hidden"],
        intermediate_size=s["intermediate"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        num_key_value_heads=s["kv"],
        vocab_size=s["vocab"],
        head_dim=s["hidden"] // s["heads"],
    )
    if shape != "small":
        config["vision_config"].update(CLIP_L_336, projection_dim=768)
    config["text_config"]["dtype"] = config["vision_config"]["dtype"] = config["dtype"] = "float16"
    return config


def _write_random_weights(folder: Path, config: dict, on_gpu: bool) -> int:
    """Random fp16 tensors, shard by shard (never the whole model in memory). Returns parameters."""
    import torch
    from safetensors.torch import save_file
    from transformers import LlavaConfig, LlavaForConditionalGeneration

    with torch.device("meta"):
        model = LlavaForConditionalGeneration(LlavaConfig.from_dict(config))
    device = "cuda" if on_gpu else "cpu"
    generator = torch.Generator(device=device).manual_seed(0)
    shard: dict = {}
    size = count = 0
    index: dict[str, str] = {}
    names: list[str] = []

    def flush() -> None:
        nonlocal shard, size
        if shard:
            name = f"model-{len(names) + 1:05d}.safetensors"
            save_file(shard, str(folder / name), metadata={"format": "pt"})
            names.append(name)
            index.update({k: name for k in shard})
            shard, size = {}, 0

    for key, meta in model.state_dict().items():
        if key.endswith("norm.weight") or "layer_norm" in key or "layernorm" in key:
            value = torch.ones(meta.shape, dtype=torch.float16)
        elif key.endswith(".bias") or "norm" in key:
            value = torch.zeros(meta.shape, dtype=torch.float16)
        else:
            value = (torch.randn(meta.shape, generator=generator, device=device, dtype=torch.float16) * 0.02).cpu()
        shard[key] = value
        size += value.numel() * 2
        count += value.numel()
        if size >= SHARD_BYTES:
            flush()
    flush()
    total = sum((folder / n).stat().st_size for n in names)
    weight_map = {"metadata": {"total_size": total}, "weight_map": index}
    (folder / "model.safetensors.index.json").write_text(json.dumps(weight_map))
    return count


def build(work: Path, shape: str, on_gpu: bool) -> tuple[Path, int]:
    from rap_desktop.core.models.convert import convert_checkpoint
    from rap_desktop.devtools.tiny_rap import write_tiny_rap

    template = "phi3_instruct" if shape == "rap-phi3-mini" else "llava_v1"
    tiny = write_tiny_rap(work / "tiny", template)
    converted = convert_checkpoint(tiny.checkpoint, work / "tiny-converted", tiny.vision_tower, template)
    folder = work / shape
    folder.mkdir()
    for item in converted.iterdir():
        if item.is_file() and not item.name.startswith("model"):
            (folder / item.name).write_bytes(item.read_bytes())
    config = _config(converted, shape)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return folder, _write_random_weights(folder, config, on_gpu)


def measure(folder: Path, shape: str, device: str, quantization: str, new_tokens: int) -> dict:
    import torch
    from PIL import Image

    from rap_desktop.core.models.generator import GenerationOptions, RapGenerator
    from rap_desktop.core.models.registry import Registry
    from rap_desktop.core.prompting import ConceptRef, Conversation, build_user_turn

    spec = Registry().get("rap-phi3-mini" if shape == "rap-phi3-mini" else "rap-llava-13b")
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
        free_before = torch.cuda.mem_get_info()[0]
    generator = RapGenerator(spec, folder, device, quantization)
    start = time.perf_counter()
    generator.load()
    load_s = time.perf_counter() - start

    photo = Image.new("RGB", (640, 480), (120, 160, 200))
    refs = [ConceptRef(n, f"<{n}> is a test concept.", Image.new("RGB", (300, 400), c)) for n, c in
            (("bo", (200, 120, 40)), ("mochi", (40, 200, 120)))]
    turn = build_user_turn("What is <bo> doing?", refs[: generator.concept_limit], query_image=photo, limit=2)
    conversation = Conversation.start(spec.options["template"], turn)
    prompt_tokens = int(generator.encode(conversation.prompt(), conversation.images)["input_ids"].shape[1])
    stamps: list[float] = []
    begin = time.perf_counter()
    answer = generator.generate(
        conversation.prompt(),
        conversation.images,
        GenerationOptions(max_new_tokens=new_tokens),
        on_text=lambda _t: stamps.append(time.perf_counter()),
    )
    end = time.perf_counter()
    first = stamps[0] if stamps else end
    row = {
        "shape": shape,
        "quantization": generator.quantization,
        "device": torch.cuda.get_device_name() if cuda else platform.processor() or "cpu",
        "load_s": round(load_s, 1),
        "prompt_tokens": prompt_tokens,
        "ttft_s": round(first - begin, 3),
        "new_tokens": answer.tokens,
        "decode_tok_s": round((answer.tokens - 1) / (end - first), 1) if answer.tokens > 1 and end > first else None,
    }
    if cuda:
        row["peak_vram_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 2)
        row["used_vram_gb"] = round((free_before - torch.cuda.mem_get_info()[0]) / 1e9, 2)  # incl. allocator cache
    generator.unload()
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="rap-llava-13b")
    parser.add_argument("--quantization", default="4bit", choices=("4bit", "8bit", "fp16", "fp32"))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--work", type=Path, help="keep the written checkpoint here (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        start = time.perf_counter()
        folder, params = build(Path(tmp), args.shape, args.device.startswith("cuda"))
        print(f"wrote {params / 1e9:.2f} B random parameters in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        row = measure(folder, args.shape, args.device, args.quantization, args.new_tokens)
    row["params_b"] = round(params / 1e9, 2)
    print(json.dumps(row))
    RESULTS.parent.mkdir(exist_ok=True)
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Generator in the real shapes (random weights, benchmarks/generator_gpu.py)\n\n"
            "Prompt: query photo + 2 concept photos + question (RAP's format), greedy decoding.\n\n"
            "| shape | params (B) | quant | device | load s | prompt tok | TTFT s | decode tok/s | peak VRAM GB |\n"
            "|---|---|---|---|---|---|---|---|---|\n"
        )
    with RESULTS.open("a") as out:
        out.write(
            f"| {row['shape']} | {row['params_b']} | {row['quantization']} | {row['device']} | {row['load_s']} | "
            f"{row['prompt_tokens']} | {row['ttft_s']} | {row['decode_tok_s']} | {row.get('peak_vram_gb', '-')} |\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
