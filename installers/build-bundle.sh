#!/usr/bin/env bash
# Build the frozen app (PyInstaller, one folder): dist/rap-desktop-<version>-linux-x86_64.tar.gz holding the
# `rap-desktop` program (the window with no arguments, the CLI with them), install.sh, uninstall.sh, README.txt.
# It builds in its own virtual environment, build/bundle-venv, made from pyproject.toml's `bundle` extra with torch
# pinned by installers/constraints.txt exactly as installers/setup.sh does, and says whether the torch it carries
# is a CUDA or a CPU build: pip's torch==2.13.0 from PyPI is the CUDA build; TORCH_INDEX_URL picks another wheel
# index for torch and torchvision only (e.g. https://download.pytorch.org/whl/cpu).
# Usage: installers/build-bundle.sh   (stdout: the archive's path, nothing else; the build's log goes to stderr)
set -euo pipefail
exec 3>&1 1>&2
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV=build/bundle-venv
WORK=build/pyinstaller
NICE=(nice -n 19)  # a build must not starve the machine's other work
export PIP_DISABLE_PIP_VERSION_CHECK=1
started=$SECONDS
say() { echo "build-bundle: $* ($((SECONDS - started)) s)" >&2; }

if [[ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]]; then
    echo "build-bundle: this script builds linux-x86_64 only (this is $(uname -s)-$(uname -m))" >&2
    exit 2
fi
version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' rap_desktop/__init__.py)"
name="rap-desktop-$version-linux-x86_64"

# 1. the build venv: refreshed only when what decides it changed (as setup.sh does for .venv)
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
stamp="$VENV/.rap-bundle-$(cat pyproject.toml installers/constraints.txt <(echo "${TORCH_INDEX_URL:-}") | sha256sum | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
    torch_from=()
    [[ -n "${TORCH_INDEX_URL:-}" ]] && torch_from=(--index-url "$TORCH_INDEX_URL")
    # torch first and pinned: pip never resolves it freely
    "${NICE[@]}" "$VENV/bin/pip" install -q "${torch_from[@]}" -c installers/constraints.txt "torch==2.13.0" "torchvision==0.28.0"
    "${NICE[@]}" "$VENV/bin/pip" install -q -c installers/constraints.txt ".[bundle]"
    # only the dependencies stay: the app is frozen from this checkout (installers/bundle/rap-desktop.spec)
    "$VENV/bin/pip" uninstall -q -y rap-desktop
    rm -f "$VENV"/.rap-bundle-*
    touch "$stamp"
    say "build venv ready"
fi
torch_says="$("$VENV/bin/python" -c 'import torch; print(torch.__version__, torch.version.cuda or "")')"
read -r torch_version cuda_version <<<"$torch_says"
if [[ -n "${cuda_version:-}" ]]; then
    carrying="torch $torch_version, a CUDA $cuda_version build (runs on an NVIDIA GPU, and on the CPU without one)"
else
    carrying="torch $torch_version, a CPU build (no CUDA: the app will not use an NVIDIA GPU)"
fi
say "carrying $carrying"

# 2. freeze
rm -rf "$WORK/dist"
"${NICE[@]}" "$VENV/bin/pyinstaller" --noconfirm --log-level WARN \
    --distpath "$WORK/dist" --workpath "$WORK/work" installers/bundle/rap-desktop.spec
say "frozen"

# 3. the folder a user unpacks, then the archive
stage="$WORK/stage"
rm -rf "$stage"
mkdir -p "$stage" dist
mv "$WORK/dist/rap-desktop" "$stage/$name"
install -m 755 installers/bundle/install.sh installers/bundle/uninstall.sh "$stage/$name/"
install -m 644 installers/bundle/README.txt "$stage/$name/"
# the frozen program answers, with no Python around it
scratch="$(mktemp -d)"
env -i HOME="$scratch" PATH=/usr/bin:/bin "$stage/$name/rap-desktop" --version >&2
rm -rf "$scratch"
"${NICE[@]}" tar -C "$stage" -czf "dist/$name.tar.gz.part" "$name"
mv "dist/$name.tar.gz.part" "dist/$name.tar.gz"
say "dist/$name.tar.gz: $(du -sh "dist/$name.tar.gz" | cut -f1) packed, $(du -sh "$stage/$name" | cut -f1) unpacked; carrying $carrying"
echo "dist/$name.tar.gz" >&3
