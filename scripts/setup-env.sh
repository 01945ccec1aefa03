#!/usr/bin/env bash
# Shared by run-desk.sh and run-tests.sh: the Debian libraries Qt needs to open a real window
# (X11 and Wayland) and a venv in .venv with the project installed. Each step runs only when
# something is missing, so a set-up machine starts at once and a developer machine is left
# alone. One install stamp for both scripts: it records which extras the venv has, and a
# script asking for fewer (or the same) reinstalls nothing.
#   EXTRAS      extras to have installed, comma-separated (run-desk: server; tests: server,test)
#   EXTRA_DEBS  more Debian packages (the tests: poppler-utils)
set -euo pipefail
cd "$(dirname "$0")/.."

# Qt's offscreen platform, fonts (without them Qt draws empty boxes and says nothing), then
# what its xcb plugin (X11) and wayland plugin load: without these a desktop user gets
# "could not load the Qt platform plugin xcb" and an abort.
QT_DEBS="libegl1 libgl1 libfontconfig1 libglib2.0-0 libdbus-1-3 libxkbcommon0 fonts-dejavu-core
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
  libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libwayland-cursor0"
EXTRA_DEBS="${EXTRA_DEBS:-}"
EXTRAS="${EXTRAS:-}"

step() { printf '== %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------------------------
missing=""
# Debian's own python3 has no venv module until python3-venv is installed.
python3 -c "import ensurepip, venv" 2>/dev/null || missing="python3-venv"
for pkg in $QT_DEBS $EXTRA_DEBS; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $pkg"
done
missing="${missing# }"
if [ -n "$missing" ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    # sudo only where it can work: without a terminal to ask for a password it cannot.
    if command -v sudo >/dev/null && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
      SUDO="sudo"
    else
      {
        echo "dispatch-desk setup: these Debian packages are missing, and installing them"
        echo "needs root (this user is not root and cannot use sudo here). Ask an admin to run:"
        echo
        echo "    apt-get update && apt-get install -y $missing"
        echo
        echo "then run this command again. Nothing was changed."
      } >&2
      exit 1
    fi
  fi
  count=$(wc -w <<<"$missing")
  step "Installing $count Debian package(s) with apt-get (about 10-60 s, most of it download):"
  echo "   $missing"
  # A run interrupted while dpkg was working leaves it half-configured, and every apt-get
  # after that refuses ("dpkg was interrupted"). Finish that first; it is a no-op otherwise.
  if [ -n "$($SUDO dpkg --audit 2>/dev/null)" ] || [ -n "$(ls -A /var/lib/dpkg/updates 2>/dev/null)" ]
  then
    step "Finishing an interrupted dpkg run (dpkg --configure -a)"
    $SUDO env DEBIAN_FRONTEND=noninteractive dpkg --configure -a
  fi
  $SUDO apt-get update -q 2>&1 | sed -u 's/^/   apt: /'
  # shellcheck disable=SC2086  # the package list is meant to split
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 $missing \
    2>&1 | sed -u -n '/^\(Get:\|Setting up\|E:\|W:\)/s/^/   apt: /p'
fi

# --- the venv ----------------------------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  step "Creating .venv (a Python virtual environment for this checkout)"
  python3 -m venv .venv
fi
# The stamp names the pyproject.toml it was made from; its lines are the extras installed.
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
want=$(tr ',' '\n' <<<"$EXTRAS" | sed '/^$/d' | sort -u)
have=$( [ -f "$stamp" ] && sort -u "$stamp" || true)
need=$(comm -23 <(printf '%s\n' "$want" | sed '/^$/d') <(printf '%s\n' "$have" | sed '/^$/d'))
if [ ! -f "$stamp" ] || [ -n "$need" ]; then
  all=$(printf '%s\n%s\n' "$want" "$have" | sed '/^$/d' | sort -u | paste -sd, -)
  step "Installing Dispatch Desk into .venv with pip (extras: ${all:-none}; about 1-2 min the" \
       "first time, mostly downloading Qt)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install --progress-bar off -e ".${all:+[$all]}" 2>&1 \
    | sed -u -n '/WARNING: Location/d; /^\(Collecting\|Successfully\|ERROR\|WARNING\)/s/^/   pip: /p'
  rm -f .venv/.installed-*
  printf '%s\n' "$all" | tr ',' '\n' | sed '/^$/d' >"$stamp"
  step "Set up. For the command line in this shell: source .venv/bin/activate"
fi
