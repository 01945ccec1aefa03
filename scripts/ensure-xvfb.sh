#!/usr/bin/env bash
# Makes sure the real-window tests (tests/realwindow) can run: an X server without a screen
# (xvfb), a window manager (openbox: without one the desk's shortcuts never fire), xdotool to
# type, and the xcb libraries Qt's X11 plugin needs (without them the desk aborts at start,
# see /work/shared/PITFALLS.md). Installs only what is missing, quietly, with one line saying
# what; prints nothing and takes a few milliseconds when everything is there.
#
#   bash scripts/ensure-xvfb.sh      (as root, or with sudo; otherwise it prints the apt line)
set -euo pipefail

PACKAGES=(xvfb openbox xdotool libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
          libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0)

missing=()
for pkg in "${PACKAGES[@]}"; do
  # dpkg-query is a local lookup: no network, no apt lock.
  if ! dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qx installed; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo="sudo"
  else
    echo "The real-window tests need: ${missing[*]}. Ask an admin to run:" \
         "apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

echo "== Installing for the real-window tests: ${missing[*]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive \
       apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}"; } \
     >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "ensure-xvfb: apt-get failed (above); install by hand: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
