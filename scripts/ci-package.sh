#!/usr/bin/env bash
# CI, after the tests (.ci/run): what a person meets, on a real X server.
#  1. the README's first command, `bash scripts/run-desk.sh --demo`, under Xvfb on Qt's xcb
#     platform (a real window, not offscreen): it draws (a screenshot with many colours), keeps
#     running a few seconds, and prints no traceback;
#  2. the Debian package (installer/build-deb.sh) installed with apt into a fresh minimal
#     Debian 12 root (debootstrap minbase; the root is cached as a tarball under
#     /var/cache/dispatch-desk-ci), then in that root (chroot): `dispatch-desk --version`,
#     `dispatch-desk demo`, the window under Xvfb on xcb, and `apt-get remove` leaving the
#     journals in place.
# Needs root (debootstrap, chroot, mount). Screenshots and logs: $DD_CI_OUT (default
# /tmp/dispatch-desk-ci). The last line is "package: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
OUT=${DD_CI_OUT:-/tmp/dispatch-desk-ci}
CACHE=${DD_CI_CACHE:-/var/cache/dispatch-desk-ci}
MIRROR=${DD_CI_MIRROR:-http://deb.debian.org/debian}
rm -rf "$OUT"; mkdir -p "$OUT"
W=$(mktemp -d /tmp/dd-ci.XXXXXX)
passed=0 failed=0
xvfb_pid="" desk_pid="" mounted=()
t0=$SECONDS

cleanup() {
  [ -n "$desk_pid" ] && kill "$desk_pid" 2>/dev/null || true
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  # --one-file-system: never into a mount that is still there (the X sockets, /proc).
  rm -rf --one-file-system "$W"
}
trap cleanup EXIT

ok()   { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAILED: $*"; }
elapsed() { echo "$((SECONDS - t0)) s"; }

# Tools on this machine: Xvfb and debootstrap, with the desk's own setup (it recovers dpkg).
EXTRAS=server EXTRA_DEBS="xvfb debootstrap python3.11-venv" bash scripts/setup-env.sh

# An X server on a free display number.
display=""
for n in $(seq 90 140); do
  if [ ! -e "/tmp/.X11-unix/X$n" ] && [ ! -e "/tmp/.X$n-lock" ]; then display=":$n"; break; fi
done
Xvfb "$display" -screen 0 1600x900x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 100); do [ -S "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done
[ -S "/tmp/.X11-unix/X${display#:}" ] || { echo "Xvfb did not start (see $OUT/xvfb.log)"; exit 1; }

# watch_window NAME LOG: desk_pid is running a window on $display; it must draw, keep running
# a few more seconds, then stop on SIGTERM, with no traceback in LOG.
watch_window() {
  local name=$1 log=$2 shot="$OUT/$1.png"
  if ! .venv/bin/python scripts/x11_snapshot.py "$display" "$shot" --timeout 90 >>"$OUT/$name.snap"
  then
    fail "$name: no window drawn within 90 s ($(tail -1 "$OUT/$name.snap"); log $log)"
  else
    local until=$((SECONDS + 4))
    while [ $SECONDS -lt $until ] && kill -0 "$desk_pid" 2>/dev/null; do sleep 0.5; done
    if kill -0 "$desk_pid" 2>/dev/null; then
      ok "$name: a drawn window ($(tail -1 "$OUT/$name.snap"))"
    else
      fail "$name: the window went away by itself (log $log)"
    fi
  fi
  kill "$desk_pid" 2>/dev/null || true
  wait "$desk_pid" 2>/dev/null || true
  desk_pid=""
  if grep -q -E "Traceback|Fatal Python error|qt.qpa.plugin: Could not" "$log"; then
    fail "$name: errors in its output:"; sed 's/^/    /' "$log" | tail -20
  else
    ok "$name: no traceback"
  fi
}

# --- 1. the README's first command, a real window ----------------------------------------
echo "== [$(elapsed)] bash scripts/run-desk.sh --demo under Xvfb ($display, xcb)"
home1="$W/home"; mkdir -p "$home1"   # its own demo journal; a developer's stays untouched
HOME="$home1" DISPLAY="$display" QT_QPA_PLATFORM=xcb bash scripts/run-desk.sh --demo \
  >"$OUT/run-desk.log" 2>&1 &
desk_pid=$!
watch_window run-desk "$OUT/run-desk.log"

# --- 2. the package in a fresh Debian root -------------------------------------------------
echo "== [$(elapsed)] build the .deb"
deb=$(bash installer/build-deb.sh "$W/dist" 2> >(grep -v "WARNING: Location" >&2) | tail -1)
[ -f "$deb" ] && ok "built $(basename "$deb") ($(du -h "$deb" | cut -f1))" \
  || { fail "installer/build-deb.sh built no package"; deb=""; }

tarball="$CACHE/bookworm-minbase.tar.gz"
root="$W/root"
if [ -n "$deb" ]; then
  mkdir -p "$CACHE" "$root"
  if [ ! -s "$tarball" ]; then
    echo "== [$(elapsed)] debootstrap --variant=minbase bookworm (not cached yet; ~40 s)"
    debootstrap --variant=minbase bookworm "$W/base" "$MIRROR" >"$OUT/debootstrap.log" 2>&1 \
      || { tail -20 "$OUT/debootstrap.log"; exit 1; }
    tar -C "$W/base" -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$W/base"
  fi
  echo "== [$(elapsed)] a fresh root from $tarball"
  tar -C "$root" -xzf "$tarball"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # Services are never started inside the chroot (dbus and friends come with Qt's libraries).
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod 755 "$root/usr/sbin/policy-rc.d"
  mount -t proc proc "$root/proc"; mounted+=("$root/proc")
  mkdir -p "$root/tmp/.X11-unix"
  mount --bind /tmp/.X11-unix "$root/tmp/.X11-unix"; mounted+=("$root/tmp/.X11-unix")
  cp "$deb" "$root/tmp/"
  in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 "$@"; }

  echo "== [$(elapsed)] apt-get install ./$(basename "$deb") in the fresh root"
  if in_root sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      /tmp/$(basename "$deb")" >"$OUT/apt-install.log" 2>&1; then
    ok "apt-get install of the package on a minimal Debian 12 ($(elapsed))"
  else
    fail "apt-get install of the package:"; tail -20 "$OUT/apt-install.log"
  fi
  version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' app/__init__.py)
  got=$(in_root dispatch-desk --version 2>&1 || true)
  [ "$got" = "dispatch-desk $version" ] && ok "dispatch-desk --version: $got" \
    || fail "dispatch-desk --version said: $got"
  if in_root dispatch-desk demo >"$OUT/demo.log" 2>&1; then ok "dispatch-desk demo: $(tail -1 "$OUT/demo.log")"
  else fail "dispatch-desk demo:"; tail -5 "$OUT/demo.log"; fi
  if in_root dispatch-desk journal verify >>"$OUT/demo.log" 2>&1; then ok "dispatch-desk journal verify"
  else fail "dispatch-desk journal verify:"; tail -5 "$OUT/demo.log"; fi

  echo "== [$(elapsed)] the installed desk's window under Xvfb ($display, xcb)"
  # chroot itself in the background (not a function): its pid is the desk's, to stop it by.
  chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
    DISPLAY="$display" QT_QPA_PLATFORM=xcb dispatch-desk --demo >"$OUT/deb-window.log" 2>&1 &
  desk_pid=$!
  watch_window deb-window "$OUT/deb-window.log"

  [ -f "$root/usr/share/applications/dispatch-desk.desktop" ] \
    && [ -f "$root/usr/share/icons/hicolor/scalable/apps/dispatch-desk.svg" ] \
    && [ -f "$root/lib/systemd/system/dispatch-desk-store.service" ] \
    && ok "menu entry, icon and systemd units installed" || fail "menu entry, icon or units missing"
  if [ -e "$root/etc/systemd/system/multi-user.target.wants/dispatch-desk-store.service" ] \
     || [ -e "$root/etc/systemd/system/multi-user.target.wants/dispatch-desk-run.service" ]; then
    fail "a unit was enabled by the package"
  else
    ok "the units are installed disabled"
  fi

  echo "== [$(elapsed)] apt-get remove keeps the journals"
  in_root sh -c "DEBIAN_FRONTEND=noninteractive apt-get remove -y -q dispatch-desk" \
    >"$OUT/apt-remove.log" 2>&1 || { fail "apt-get remove:"; tail -10 "$OUT/apt-remove.log"; }
  data="$root/root/.local/share/dispatch-desk"
  if [ ! -e "$root/opt/dispatch-desk/bin/dispatch-desk" ] && [ -s "$data/journal.sqlite" ] \
     && [ -s "$data/demo/demo.sqlite" ]; then
    ok "removed; journal.sqlite and demo/demo.sqlite are still there"
  else
    fail "after apt-get remove: $(ls -la "$data" "$root/opt/dispatch-desk/bin" 2>&1 | head -5)"
  fi
fi

echo "== [$(elapsed)] screenshots and logs in $OUT"
echo "package: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
