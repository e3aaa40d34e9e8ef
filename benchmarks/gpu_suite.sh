#!/usr/bin/env bash
# The GPU figures in one table, on one GPU, without network, in under 8 minutes:
#   1. decode: one 12-MP JPEG, full decode vs the working decode (ms)
#   2. indexing 12-MP photos: tiny models and the reference shapes (CLIP ViT-L-14-336 + YOLO-World v2 x)
#      on CUDA, random weights (benchmarks/album.py --large --device cuda)
#   3. the generator in the RAP-LLaVA-13B shape, 4-bit, the app's decode backend (eager; SUITE_BACKENDS
#      lists others, e.g. eager,static-compile, if the time allows): load, cold and warm first token,
#      forced decode tok/s, album captions one by one and batched, VRAM (benchmarks/generator_gpu.py)
#
#   benchmarks/gpu_suite.sh             # on the GPU machine (.venv with CUDA torch)
#   benchmarks/gpu_suite.sh --dry-run   # everything tiny on the CPU: checks the suite itself
#
# Each step has its own time limit; a step that fails or runs out of time shows as such in the table
# and the others still run. PYTHON overrides the interpreter (default .venv/bin/python).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 YOLO_OFFLINE=1 PYTHONUNBUFFERED=1

if [[ "${1:-}" == "--dry-run" ]]; then
  DEVICE=cpu; PHOTOS=4; SIZE=800x600; BATCH=2; ALBUM_LIMIT=300; ALBUM_EXTRA=(--tiny-only)
  GEN=(--shape small --device cpu --quantization fp32 --new-tokens 8 --caption-tokens 8 --warm 1 --one-by-one 2
       --photos 4 --batch 2); GEN_LIMIT=240
else
  DEVICE=cuda; PHOTOS=100; SIZE=4000x3000; BATCH=16; ALBUM_LIMIT=180; ALBUM_EXTRA=()
  GEN=(--shape rap-llava-13b --quantization 4bit --device cuda --new-tokens 64); GEN_LIMIT=270
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
START=$SECONDS

step() {  # name, limit (s), command...: the log goes to $OUT/name.log, the status to $OUT/name.status
  local name=$1 limit=$2; shift 2
  echo "== $name (limit ${limit}s)" >&2
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  if [[ $rc -eq 0 ]]; then echo ok >"$OUT/$name.status"
  elif [[ $rc -eq 124 ]]; then echo "timed out after ${limit}s" >"$OUT/$name.status"
  else echo "failed (exit $rc): $(grep -v '^\s' "$OUT/$name.log" | tail -1)" >"$OUT/$name.status"; fi
  echo "   $(cat "$OUT/$name.status") in $((SECONDS - START))s total" >&2
}

W=${SIZE%x*}; H=${SIZE#*x}
step decode 60 "$PY" - "$W" "$H" <<'EOF'
import io, json, statistics, sys, time
from pathlib import Path
from PIL import Image
from rap_desktop.core.images import load_image, load_working
from rap_desktop.devtools.synthetic_album import make_large_album
w, h = int(sys.argv[1]), int(sys.argv[2])
cache = Path.home() / ".cache" / "rap-desktop-bench" / f"album-{w}x{h}"
data = make_large_album(cache, 1, (w, h))[0].read_bytes()
def ms(load):
    times = []
    for _ in range(5):
        start = time.perf_counter(); load(data); times.append(time.perf_counter() - start)
    return round(1000 * statistics.median(times), 1)
working = load_working(data)
print(json.dumps({"decode_mb": round(len(data) / 1e6, 2), "full_decode_ms": ms(load_image),
                  "working_decode_ms": ms(load_working), "working_size": "x".join(map(str, working.image.size))}))
EOF

step album "$ALBUM_LIMIT" "$PY" benchmarks/album.py --large "$PHOTOS" --size "$SIZE" --device "$DEVICE" \
  --batch "$BATCH" --out "$OUT/album.md" "${ALBUM_EXTRA[@]}"

step generator "$GEN_LIMIT" "$PY" benchmarks/generator_gpu.py "${GEN[@]}" --backends "${SUITE_BACKENDS:-eager}" \
  --results "$OUT/generator_gpu.md"

"$PY" - "$OUT" "$DEVICE" "$SIZE" "$((SECONDS - START))" <<'EOF'
import json, sys
from pathlib import Path
out, device, size, seconds = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
rows = []
def status(name):
    return (out / f"{name}.status").read_text().strip() if (out / f"{name}.status").exists() else "not run"
def json_line(name):
    lines = [x for x in (out / f"{name}.log").read_text().splitlines() if x.startswith("{")] if (out / f"{name}.log").exists() else []
    return json.loads(lines[-1]) if lines else {}
decode = json_line("decode")
for key in ("decode_mb", "full_decode_ms", "working_decode_ms", "working_size"):
    rows.append((f"decode {size}: {key}", decode.get(key, status("decode"))))
album = out / "album.md"
if album.exists():
    for line in album.read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("|") and cells[0] not in ("models", "---") and len(cells) == 7:
            rows.append((f"index {size} photos, {cells[0]} models: photos/s", cells[2]))
            rows.append((f"index {size}, {cells[0]}: detect / embed ms per photo", f"{cells[4]} / {cells[5]}"))
            rows.append((f"index {size}, {cells[0]}: outside model calls", cells[3]))
else:
    rows.append((f"index {size} photos", status("album")))
log = out / "generator.log"
generated = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")] if log.exists() else []
for row in generated:  # one per backend
    name = f"generator {row.get('shape')} {row.get('quantization')} {row.get('backend')}"
    if "error" in row:
        rows.append((name, f"failed: {row['error']}"))
        continue
    for label, key in (("load s", "load_s"), ("prompt tokens", "prompt_tokens"), ("cold first token s", "cold_ttft_s"),
                       ("warm first token s", "warm_ttft_s"), ("decode tok/s (forced)", "decode_tok_s"),
                       ("peak VRAM GB, one stream", "single_peak_vram_gb"), ("captions batch", "batch"),
                       ("captions/s one by one", "one_by_one_photos_s"), ("captions/s batched", "batched_photos_s"),
                       ("batched = one by one", "batched_equal"), ("peak VRAM GB, batched", "batch_peak_vram_gb")):
        rows.append((f"{name}: {label}", "-" if row.get(key) is None else row[key]))
if not generated:
    rows.append(("generator", status("generator")))
print(f"\n## GPU suite ({device}{', dry run' if device == 'cpu' else ''}; {seconds} s)\n")
print("| figure | value |\n|---|---|")
for name, value in rows:
    print(f"| {name} | {value} |")
EOF
