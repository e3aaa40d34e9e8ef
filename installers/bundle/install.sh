#!/usr/bin/env bash
# Put RAP Desktop in this user's application menu, no root needed: a menu entry in
# ~/.local/share/applications, its icon in ~/.local/share/icons, and the `rap-desktop` command in ~/.local/bin.
# The app stays in this folder: after moving the folder, run install.sh again. uninstall.sh takes back exactly
# what this made (it keeps a list, with each file's checksum). Your concepts, settings and downloaded models are
# not in this folder: an upgrade (unpack the new version, run its install.sh) keeps them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
state="${XDG_STATE_HOME:-$HOME/.local/state}/rap-desktop"
manifest="$state/bundle-install.txt"
resources="$here/_internal/rap_desktop/resources"
app="$here/rap-desktop"

desktop="$data/applications/rap-desktop.desktop"
svg="$data/icons/hicolor/scalable/apps/rap-desktop.svg"
png="$data/icons/hicolor/256x256/apps/rap-desktop.png"
link="$HOME/.local/bin/rap-desktop"

die() { echo "install.sh: $*" >&2; exit 2; }
[[ -x "$app" && -d "$resources" ]] || die "run the install.sh of an unpacked bundle (rap-desktop and _internal/ beside it)"
# the Exec= line of a .desktop file cannot carry these without escaping rules that launchers disagree on
case "$here" in *[\"\`\$\\%]* | *$'\n'*) die "move the folder to a path without \" \` \$ \\ or % in it, then run me again" ;; esac

recorded() { [[ -f "$manifest" ]] && grep -qF -- " $1" "$manifest"; }

# refuse before changing anything when a file is in the way that an earlier install.sh did not make
for target in "$desktop" "$svg" "$png"; do
    if [[ -e "$target" || -L "$target" ]] && ! recorded "$target"; then
        die "$target exists and was not made by install.sh; move it away, then run me again (nothing was changed)"
    fi
done
if [[ -e "$link" || -L "$link" ]] && ! recorded "$link"; then
    die "$link exists and was not made by install.sh; move it away, then run me again (nothing was changed)"
fi

entry="$(mktemp)"
trap 'rm -f "$entry"' EXIT
grep -v -E '^(Exec|TryExec|Icon)=' "$resources/rap-desktop.desktop" >"$entry"
printf 'Exec="%s"\nTryExec=%s\nIcon=rap-desktop\nX-RAP-Desktop-Bundle=%s\n' "$app" "$app" "$here" >>"$entry"

mkdir -p "$state" "$(dirname "$desktop")" "$(dirname "$svg")" "$(dirname "$png")" "$(dirname "$link")"
install -m 644 "$entry" "$desktop"
install -m 644 "$resources/rap-desktop.svg" "$svg"
install -m 644 "$resources/rap-desktop.png" "$png"
ln -sfn "$app" "$link"
{
    for file in "$desktop" "$svg" "$png"; do echo "$(sha256sum <"$file" | cut -c1-64) $file"; done
    echo "link:$app $link"
} >"$manifest"

# let menus see the new entry at once where these tools exist (they are optional)
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true

echo "RAP Desktop is in your application menu (Graphics / Photography), or run: $link"
case ":$PATH:" in *":$HOME/.local/bin:"*) ;; *) echo "($HOME/.local/bin is not on your PATH: use the full path above)" ;; esac
echo "Your data: ${XDG_DATA_HOME:-$HOME/.local/share}/rap-desktop, settings: ${XDG_CONFIG_HOME:-$HOME/.config}/rap-desktop"
