"""Generator figures per decode backend: first token (cold, warm), forced decode, album captions.

Random weights in the exact RAP-LLaVA-13B (or RAP-Phi3-mini) shapes are written as a transformers
checkpoint (the processor and tokenizer come from the tiny converted RAP model), then loaded through
`RapGenerator` -- the same 4-bit NF4 path the app uses -- once per (quantization, decode backend):

- single stream: one question about a photo with two concept photos (three images, as RAP's prompt
  has); TTFT = from the call to the first generated *token* (cold = the first call after loading,
  warm = the median of the next `--warm`); decode tokens/s over a forced count (min = max new tokens);
- the greedy tokens and every step's logits against the first quantization's eager backend (the
  logits test that gates any backend or format other than the default);
- album captions: photos one per `generate` call vs batched (`generate_batch`, the batch chosen from
  the free GPU memory and photos with as many concepts grouped, as the app does), captions/s, and
  whether both give the same captions;
- peak VRAM (single stream, batched).

Weights are random, so the text is noise; the timings and memory are those of the real shapes.

    .venv/bin/python benchmarks/generator_gpu.py                      # 13B, 4-bit, every backend, CUDA
    .venv/bin/python benchmarks/generator_gpu.py --quantization 4bit,fp16 --backends eager,static-compile
    .venv/bin/python benchmarks/generator_gpu.py --dry-run --machine "shared/contended"  # CPU, tiny

Prints one JSON line per run and appends a table to benchmarks/generator_gpu.results.md (machine named).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import rap_desktop.torch_compat  # noqa: F401

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "generator_gpu.results.md"

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


def _spec(shape: str):
    from rap_desktop.core.models.registry import Registry

    return Registry().get("rap-phi3-mini" if shape == "rap-phi3-mini" else "rap-llava-13b")


def build_tiny(work: Path) -> Path:
    """The tiny random RAP-LLaVA itself (64-d, 2 layers, the real 576 image tokens): the CPU dry run."""
    from rap_desktop.core.models.convert import convert_checkpoint
    from rap_desktop.devtools.tiny_rap import write_tiny_rap

    tiny = write_tiny_rap(work / "tiny", "llava_v1")
    return convert_checkpoint(tiny.checkpoint, work / "tiny-converted", tiny.vision_tower, "llava_v1")


def _color(i: int) -> tuple[int, int, int]:
    return ((37 * i) % 256, (91 * i + 60) % 256, (53 * i + 120) % 256)


def question_prompt(template: str, limit: int):
    """One question about a photo with two concept photos (three images, as RAP's prompt has)."""
    from PIL import Image

    from rap_desktop.core.prompting import ConceptRef, Conversation, build_user_turn

    photo = Image.new("RGB", (640, 480), (120, 160, 200))
    refs = [
        ConceptRef(n, f"<{n}> is a test concept.", Image.new("RGB", (300, 400), c))
        for n, c in (("bo", (200, 120, 40)), ("mochi", (40, 200, 120)))
    ]
    turn = build_user_turn("What is <bo> doing?", refs[:limit], query_image=photo, limit=limit)
    conversation = Conversation.start(template, turn)
    return conversation.prompt(), conversation.images


def caption_prompts(template: str, limit: int, count: int) -> list:
    """Album caption prompts: photo i carries i % 3 concepts (0, 1, 2: rows of different lengths)."""
    from PIL import Image

    from rap_desktop.core.prompting import ConceptRef, Conversation, build_user_turn, caption_question

    out = []
    for i in range(count):
        photo = Image.new("RGB", (800, 600), _color(i))
        refs = [
            ConceptRef(f"c{k}", f"<c{k}> is ours.", Image.new("RGB", (300, 400), _color(i + k + 1)))
            for k in range(min(i % 3, limit))
        ]
        conversation = Conversation.start(
            template, build_user_turn(caption_question(), refs, query_image=photo, limit=limit)
        )
        out.append((conversation.prompt(), conversation.images))
    return out


def caption_batches(photos: list, size: int) -> list[list]:
    """(index, prompt) groups as the album caption run forms them: photos with as many images together."""
    from rap_desktop.core.models.decoding import Batcher

    batcher, out = Batcher(size), []
    for index, prompt in enumerate(photos):
        if full := batcher.add((index, prompt), len(prompt[1])):
            out.append(full)
    while rest := batcher.rest():
        out.append(rest)
    return out


def _forced_tokens_and_logits(generator, prompt: str, images, count: int):
    """Greedy tokens and every step's logits through this backend's generate arguments."""
    import torch

    inputs = {k: v.to(generator.device) for k, v in generator.encode(prompt, images).items()}
    inputs["pixel_values"] = inputs["pixel_values"].to(generator.model.dtype)
    width = int(inputs["input_ids"].shape[1])
    with torch.inference_mode():
        extra = generator.decode.generate_kwargs(generator.model, 1, width + count)
        out = generator.model.generate(
            **inputs,
            max_new_tokens=count,
            min_new_tokens=count,
            do_sample=False,
            output_logits=True,
            return_dict_in_generate=True,
            **extra,
        )
    return out.sequences[0, width:].tolist(), torch.stack(out.logits)[:, 0].float().cpu()


def agreement(reference, mine) -> tuple[str, float | None]:
    """("k/n" leading greedy tokens equal, max |logit difference| over those steps / logit spread)."""
    if reference is None:
        return "-", None
    (ref_ids, ref_logits), (ids, logits) = reference, mine
    same = next((i for i, (a, b) in enumerate(zip(ref_ids, ids, strict=False)) if a != b), min(len(ref_ids), len(ids)))
    steps = max(same, 1)  # after a divergence the inputs differ: compare logits up to it
    diff = (ref_logits[:steps] - logits[:steps]).abs().max().item()
    spread = ref_logits[:steps].std().item() or 1.0
    return f"{same}/{len(ref_ids)}", round(diff / spread, 4)


def _timed(call):
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def _vram(torch, cuda: bool) -> float | None:
    return round(torch.cuda.max_memory_allocated() / 1e9, 2) if cuda else None


def measure(folder: Path, shape: str, device: str, quantization: str, backend: str, args, reference) -> tuple:
    """One (quantization, backend): cold and warm first token, forced decode, captions one by one and
    batched, peak VRAM, and the greedy tokens and logits against `reference` (eager)."""
    import torch

    from rap_desktop.core.models.generator import GenerationOptions, RapGenerator

    spec = _spec(shape)
    template = str(spec.options["template"])
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    generator = RapGenerator(spec, folder, device, quantization, backend)
    _, load_s = _timed(generator.load)
    row: dict = {"shape": shape, "quantization": generator.quantization, "backend": backend, "load_s": round(load_s, 1)}
    prompt, images = question_prompt(template, generator.concept_limit)
    row["prompt_tokens"] = int(generator.encode(prompt, images)["input_ids"].shape[1])
    forced = GenerationOptions(max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens)

    cold, cold_s = _timed(lambda: generator.generate(prompt, images, forced))
    row["cold_ttft_s"] = round(cold.first_token_s or cold_s, 3)
    ttfts, rates = [], []
    for _ in range(args.warm):
        answer, total = _timed(lambda: generator.generate(prompt, images, forced))
        first = answer.first_token_s or total
        ttfts.append(first)
        rates.append((answer.tokens - 1) / (total - first) if answer.tokens > 1 and total > first else 0.0)
    row["warm_ttft_s"] = round(statistics.median(ttfts), 3)
    row["decode_tok_s"] = round(statistics.median(rates), 1)
    row["new_tokens"] = args.new_tokens
    row["single_peak_vram_gb"] = _vram(torch, cuda)
    mine = _forced_tokens_and_logits(generator, prompt, images, args.new_tokens)
    row["tokens_vs_eager"], row["logit_diff_vs_eager"] = agreement(reference, mine)

    batch = generator.caption_batch_size(args.caption_tokens, args.batch)
    photos = caption_prompts(template, generator.concept_limit, args.photos or 3 * batch)  # 3 prompt sizes
    batches = caption_batches(photos, batch)
    captions = GenerationOptions(max_new_tokens=args.caption_tokens, min_new_tokens=args.caption_tokens)
    generator.generate_batch([p for _, p in batches[0]], captions)  # warm: the batch's shapes (a compiled graph)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    one_by_one = photos[: min(len(photos), args.one_by_one)]
    alone, alone_s = _timed(lambda: [generator.generate(p, i, captions).text for p, i in one_by_one])
    batched: dict[int, str] = {}

    def run_batches() -> None:
        for group in batches:
            answers = generator.generate_batch([p for _, p in group], captions)
            batched.update((k, a.text) for (k, _), a in zip(group, answers, strict=True))

    _, batched_s = _timed(run_batches)
    row.update(
        batch=batch,
        caption_tokens=args.caption_tokens,
        one_by_one_photos_s=round(len(one_by_one) / alone_s, 3),
        batched_photos_s=round(len(photos) / batched_s, 3),
        batched_equal=[batched[k] for k in range(len(alone))] == alone,
        batch_peak_vram_gb=_vram(torch, cuda),
    )
    row["batched_over_one"] = round(row["batched_photos_s"] / row["one_by_one_photos_s"], 2)
    generator.unload()
    return row, mine


def machine(device: str, note: str) -> str:
    import torch

    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name()}, {os.cpu_count()} CPU cores{note}, torch {torch.__version__}"
    cpu = platform.processor() or "cpu"
    info = Path("/proc/cpuinfo")
    if info.exists():
        names = [
            line.split(":", 1)[1].strip() for line in info.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return (
        f"{cpu}, {os.cpu_count()} cores{note}, torch {torch.__version__} ({torch.get_num_threads()} threads), CPU only"
    )


COLUMNS = (
    ("quant", "quantization"),
    ("backend", "backend"),
    ("prompt tok", "prompt_tokens"),
    ("cold TTFT s", "cold_ttft_s"),
    ("warm TTFT s", "warm_ttft_s"),
    ("decode tok/s (forced)", "decode_tok_s"),
    ("peak VRAM GB (single)", "single_peak_vram_gb"),
    ("greedy tokens = eager", "tokens_vs_eager"),
    ("max logit diff / spread", "logit_diff_vs_eager"),
    ("batch", "batch"),
    ("captions/s one by one", "one_by_one_photos_s"),
    ("captions/s batched", "batched_photos_s"),
    ("batched ÷ one by one", "batched_over_one"),
    ("batched = one by one", "batched_equal"),
    ("peak VRAM GB (batched)", "batch_peak_vram_gb"),
)


def write_results(path: Path, rows: list[dict], command: str, where: str, args) -> None:
    if not path.exists():
        path.write_text(
            "# Generator: first token, decode, album captions per backend (benchmarks/generator_gpu.py)\n\n"
            "Random weights in the real shapes (or the tiny model for the CPU dry run); the timings and memory are\n"
            "those of the shapes, the text is noise. TTFT = from the call to the first generated token (cold: the\n"
            "first call after loading; warm: median of the next ones). Decode = (tokens - 1) / time after the first\n"
            "token, over a forced count (min_new_tokens = max_new_tokens). Captions: forced length, photo i carries\n"
            "i % 3 concepts; batched = several photos per generate call (left-padded, photos with as many concepts\n"
            "together, as the app groups them). Greedy tokens and logits are\n"
            "compared with the eager backend of the first quantization listed (the logits test that gates any\n"
            "backend or format other than the default).\n"
        )
    lines = [
        "",
        f"## {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {where}",
        "",
        f"`{command}` · forced {args.new_tokens} new tokens (single stream), {args.caption_tokens} per caption",
        "",
        "| " + " | ".join(name for name, _ in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['quantization']} | {row['backend']} | failed: {row['error']} |")
            continue
        lines.append("| " + " | ".join("-" if row.get(key) is None else str(row[key]) for _, key in COLUMNS) + " |")
    with path.open("a") as out:
        out.write("\n".join(lines) + "\n")


def main() -> int:
    from rap_desktop.core.models.decoding import DECODE_BACKENDS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted([*SHAPES, "tiny"]), default="rap-llava-13b")
    parser.add_argument("--quantization", default="4bit", help="one or more of 4bit,8bit,fp16,fp32 (comma-separated)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument(
        "--backends",
        help=f"comma-separated, of {', '.join(DECODE_BACKENDS)} (default: all on CUDA, eager,static on a CPU)",
    )
    parser.add_argument("--new-tokens", type=int, default=64, help="forced new tokens per single-stream answer")
    parser.add_argument("--caption-tokens", type=int, default=48, help="forced new tokens per caption")
    parser.add_argument("--warm", type=int, default=3, help="warm single-stream runs (median reported)")
    parser.add_argument(
        "--photos", type=int, default=0, help="photos captioned in batches (default: 3 batches, one per prompt size)"
    )
    parser.add_argument("--one-by-one", type=int, default=8, help="photos captioned one per call")
    parser.add_argument("--batch", type=int, default=0, help="photos per batch (0: from free GPU memory; 4 on a CPU)")
    parser.add_argument("--dry-run", action="store_true", help="= --device cpu --shape tiny --quantization fp32")
    parser.add_argument("--machine", default="", help='added to the machine line, e.g. "shared/contended"')
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--work", type=Path, help="keep the written checkpoint here (default: a temp folder)")
    args = parser.parse_args()
    if args.dry_run:
        args.device, args.shape, args.quantization = "cpu", "tiny", "fp32"
    cuda = args.device.startswith("cuda")
    backends = (args.backends or ",".join(DECODE_BACKENDS if cuda else ("eager", "static"))).split(",")
    quantizations = args.quantization.split(",")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        start = time.perf_counter()
        if args.shape == "tiny":
            folder, params = build_tiny(Path(tmp)), 0
        else:
            folder, params = build(Path(tmp), args.shape, cuda)
        print(f"wrote {params / 1e9:.2f} B random parameters in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        reference = None
        for quantization in quantizations:
            for backend in backends:
                try:
                    row, mine = measure(folder, args.shape, args.device, quantization, backend, args, reference)
                except Exception as exc:  # one backend failing (e.g. compile with 4-bit layers) must not end the run
                    row, mine = {"quantization": quantization, "backend": backend, "error": _one_line(exc)}, None
                if reference is None and mine is not None:
                    reference = mine
                row["params_b"] = round(params / 1e9, 2)
                print(json.dumps(row), flush=True)
                rows.append(row)
    where = machine(args.device, f", {args.machine}" if args.machine else "")
    write_results(args.results, rows, "benchmarks/generator_gpu.py " + " ".join(sys.argv[1:]), where, args)
    return 0


def _one_line(exc: BaseException) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text[:200].replace("|", "/")


if __name__ == "__main__":
    raise SystemExit(main())
