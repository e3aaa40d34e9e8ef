#!/usr/bin/env bash
# Set up (or refresh) the project's virtual environment in .venv. Idempotent: a second run with
# unchanged pyproject.toml / constraints is a no-op. Usage: installers/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
extras=""
[[ "${1:-}" == "--test" ]] && extras="[test]"

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
