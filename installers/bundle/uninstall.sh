#!/usr/bin/env bash
# Take back what install.sh made: the menu entry, the icons and the ~/.local/bin/rap-desktop link, each only while
# it is still exactly what install.sh wrote (its list holds each file's checksum). Your concepts, settings,
# caches and downloaded models are kept; so is this folder (delete it yourself when you no longer want the app).
set -euo pipefail
state="${XDG_STATE_HOME:-$HOME/.local/state}/rap-desktop"
manifest="$state/bundle-install.txt"
data="${XDG_DATA_HOME:-$HOME/.local/share}"

if [[ ! -f "$manifest" ]]; then
    echo "uninstall.sh: nothing to remove (install.sh has not been run for this user)"
    exit 0
fi
kept=0
while IFS= read -r line; do
    what="${line%% *}" path="${line#* }"
    if [[ "$what" == link:* ]]; then
        if [[ -L "$path" && "$(readlink "$path")" == "${what#link:}" ]]; then rm -f "$path"; continue; fi
    elif [[ -f "$path" && ! -L "$path" && "$(sha256sum <"$path" | cut -c1-64)" == "$what" ]]; then
        rm -f "$path"
        continue
    fi
    if [[ -e "$path" || -L "$path" ]]; then
        echo "uninstall.sh: kept $path (changed since install.sh made it)" >&2
        kept=2
    fi
done <"$manifest"
rm -f "$manifest"
rmdir "$state" 2>/dev/null || true

command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true

echo "RAP Desktop is no longer in your menu. Kept: your data (${data}/rap-desktop), settings" \
    "(${XDG_CONFIG_HOME:-$HOME/.config}/rap-desktop), caches and models (${XDG_CACHE_HOME:-$HOME/.cache}), and this folder."
exit "$kept"
