#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment in .venv. Idempotent: a second run with
# unchanged pyproject.toml / constraints is a no-op. Usage: installers/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
extras=""
[[ "${1:-}" == "--test" ]] && extras="[test]"

# Tests read XMP sidecars back with exiftool (Debian: libimage-exiftool-perl).
if [[ -n "$extras" ]] && ! command -v exiftool >/dev/null 2>&1; then
    as_root=()
    if [[ "$(id -u)" != 0 ]]; then
        if sudo -n true 2>/dev/null; then as_root=(sudo -n); else
            echo "setup: exiftool is missing and installing it needs root: apt-get install libimage-exiftool-perl" >&2
            exit 1
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup: exiftool is missing and this is not a Debian-like system; install exiftool, then rerun" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! "${as_root[@]}" apt-get install -y -qq libimage-exiftool-perl >/dev/null 2>&1; then
        "${as_root[@]}" apt-get update -qq >/dev/null 2>&1 || true
        "${as_root[@]}" apt-get install -y -qq libimage-exiftool-perl >/dev/null || {
            echo "setup: could not install libimage-exiftool-perl (exiftool) with apt-get" >&2
            exit 1
        }
    fi
fi

if [[ ! -x .venv/bin/python ]]; then
    "$PYTHON" -m venv .venv
fi

# Re-install only when what decides the environment changed.
stamp=".venv/.rap-setup-$(cat pyproject.toml installers/constraints.txt | sha256sum | cut -c1-16)${extras:+-test}"
if [[ -f "$stamp" || ( -z "$extras" && -f "$stamp-test" ) ]]; then
    exit 0
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1
# torch first and pinned: an unpinned torch would pull several GB of CUDA wheels.
.venv/bin/pip install -q -c installers/constraints.txt "torch==2.13.0" "torchvision==0.28.0"
.venv/bin/pip install -q -c installers/constraints.txt -e ".${extras}"
rm -f .venv/.rap-setup-*
touch "$stamp"
echo "environment ready in .venv" >&2
