#!/usr/bin/env bash
# Screenshots of the bundled app's window under Xvfb (needs Xvfb, xwd and ImageMagick's convert): docs/screenshots/bundle_1024x700.png and bundle_1600x1000.png.
# Unpacks the archive (default: the newest dist/rap-desktop-*-linux-x86_64.tar.gz; installers/build-bundle.sh makes
# it) into a temporary folder, registers two concepts with the tiny random models through the bundle's own CLI (the
# photos ultralytics ships inside the bundle), then starts the window with a clean environment and shoots the screen
# once the app says its window is shown (RAP_DESKTOP_WHEN_SHOWN=print).
#   installers/bundle-screenshots.sh [ARCHIVE] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
archive="${1:-$(ls -t dist/rap-desktop-*-linux-x86_64.tar.gz | head -1)}"
OUT="$(mkdir -p "${2:-docs/screenshots}" && cd "${2:-docs/screenshots}" && pwd)"
PY="${PYTHON:-.venv/bin/python}"  # only to write the tiny models (rap_desktop.devtools is not in the bundle)

WORK="$(mktemp -d -t rap-bundle-shots-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
tar -xzf "$archive" -C "$WORK"
bundle="$(echo "$WORK"/rap-desktop-*-linux-x86_64)"
config="$("$PY" -m rap_desktop.devtools.tiny_models "$WORK/models" 2>/dev/null)"
user=(env -i HOME="$WORK/home" PATH=/usr/bin:/bin XDG_CONFIG_HOME="$WORK/config" XDG_DATA_HOME="$WORK/data"
    XDG_CACHE_HOME="$WORK/cache" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 YOLO_OFFLINE=1 RAP_DESKTOP_CONFIG="$config")
assets="$bundle/_internal/ultralytics/assets"
"${user[@]}" "$bundle/rap-desktop" concept add bus "$assets/bus.jpg" --info "<bus> is the blue city bus." \
    --category thing >/dev/null
"${user[@]}" "$bundle/rap-desktop" concept add zidane "$assets/zidane.jpg" --info "<zidane> is a football coach." \
    --category person >/dev/null

shoot() {  # $1: screen size, $2: the file. Start the window on its own Xvfb, wait until it says it is shown, shoot
    local log="$WORK/shown.log" display_file="$WORK/display"
    : >"$log"
    : >"$display_file"
    Xvfb -displayfd 5 -screen 0 "$1x24" -nolisten tcp 5>"$display_file" 2>/dev/null &
    local xvfb=$!
    until [[ -s "$display_file" ]]; do sleep 0.2; done
    local display=":$(cat "$display_file")"
    "${user[@]}" DISPLAY="$display" RAP_DESKTOP_WHEN_SHOWN=print "$bundle/rap-desktop" >"$log" 2>/dev/null &
    local app=$!
    until grep -q "window shown" "$log"; do
        kill -0 "$app" 2>/dev/null || { echo "bundle-screenshots: the app ended before its window showed" >&2; exit 1; }
        sleep 0.5
    done
    sleep 2  # let it paint the concepts' thumbnails
    DISPLAY="$display" xwd -root -silent | convert xwd:- "$2"
    kill "$app" && wait "$app" || true
    kill "$xvfb" && wait "$xvfb" || true
    cat "$log"
}

for size in 1024x700 1600x1000; do
    shoot "$size" "$OUT/bundle_$size.png"
done
ls -l "$OUT"/bundle_*.png
