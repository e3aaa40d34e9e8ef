#!/usr/bin/env bash
# Set everything up, then start the app. Extra arguments go to `rap-desktop`.
set -euo pipefail
cd "$(dirname "$0")/.."
installers/setup.sh
exec .venv/bin/rap-desktop "$@"
