#!/usr/bin/env bash
# Set everything up, then run the whole test suite (offline; tiny random-weight models).
set -euo pipefail
cd "$(dirname "$0")/.."
installers/setup.sh --test
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
