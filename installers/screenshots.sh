#!/usr/bin/env bash
# Start the real app under Xvfb with a fresh data folder and the tiny models, click through
# register -> open photo (retrieve) -> correct -> caption, and save screenshots to docs/screenshots/.
# Then start it again with a generator whose weights are missing and shoot the first-run models dialog.
#   installers/screenshots.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-docs/screenshots}"
PY="${PYTHON:-.venv/bin/python}"

if ! command -v xvfb-run >/dev/null; then
    # Debian's Xvfb, plus the xcb libraries Qt needs (without the last two it wrongly blames libxcb-cursor0)
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0
fi

WORK="$(mktemp -d -t rap-screens-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export XDG_CONFIG_HOME="$WORK/config" XDG_DATA_HOME="$WORK/data" XDG_CACHE_HOME="$WORK/cache"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 YOLO_OFFLINE=1 HF_HOME="$WORK/hf"
export YOLO_CONFIG_DIR="$WORK/yolo" MPLCONFIGDIR="$WORK/mpl" RAP_DESKTOP_WEIGHTS_DIR="$WORK/weights"
export QT_QPA_PLATFORM=xcb
CONFIG="$("$PY" -m rap_desktop.devtools.tiny_models "$WORK/models" 2>/dev/null)"
mkdir -p "$OUT"
SCREEN=(-a -s "-screen 0 1280x800x24")

RAP_DESKTOP_HOME="$WORK/home" RAP_DESKTOP_CONFIG="$CONFIG" \
    xvfb-run "${SCREEN[@]}" "$PY" -m rap_desktop.devtools.demo_flow "$OUT"
# the generator named here has no weights on this machine: the models dialog opens by itself
RAP_DESKTOP_HOME="$WORK/home2" RAP_DESKTOP_CONFIG="$CONFIG" RAP_DESKTOP_GENERATOR=rap-phi3-mini \
    xvfb-run "${SCREEN[@]}" "$PY" -m rap_desktop.devtools.demo_flow "$OUT" --models-only
ls -l "$OUT"
