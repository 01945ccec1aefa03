#!/usr/bin/env bash
# Build build/deb/dispatch-desk_VERSION_amd64.deb with dpkg-deb: a self-contained venv under
# /opt/dispatch-desk (the desk, its CLI and the store's server extras, with every Python
# dependency pinned as resolved at build time), on Debian's python3.11; Qt's system libraries
# as Depends. Why a venv and not PyInstaller: installer/README.md.
#
#   bash installer/build-deb.sh [OUT_DIR]      (default: build/deb/, git-ignored); prints the .deb's path last
#
# Needs python3 with venv, dpkg-deb and the network to PyPI (or a pip cache). Run as root or
# not; files in the package are root-owned either way (--root-owner-group).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
OUT=$(realpath -m "${1:-build/deb}")
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' app/__init__.py)
PREFIX=/opt/dispatch-desk
ARCH=$(dpkg --print-architecture)
# Debian's own interpreter, never another one on PATH (pyenv, /usr/local): the venv links to
# it, and the target has exactly this path from the python3.11 package.
PY=/usr/bin/python3.11
if ! $PY -c "import ensurepip, venv" 2>/dev/null; then
  echo "build-deb: needs Debian's python3.11 with venv: apt-get install -y python3.11-venv" >&2
  exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dd-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
STAGE=$ROOT$PREFIX
echo "== build-deb: dispatch-desk $VERSION ($ARCH) in $WORK"

# --- the venv, then its paths made /opt/dispatch-desk --------------------------------------
$PY -m venv "$STAGE"
"$STAGE/bin/python" -m pip install -q --upgrade pip
echo "== build-deb: pip install .[server] into the venv (about 1 min with a warm pip cache)"
"$STAGE/bin/python" -m pip install -q --no-compile "$SRC[server]"
"$STAGE/bin/python" -m pip uninstall -q -y pip
# Console scripts and activate name the staging path; on the target it is $PREFIX.
grep -rlI --null "$STAGE" "$STAGE/bin" "$STAGE/pyvenv.cfg" | xargs -0 -r sed -i "s|$STAGE|$PREFIX|g"
# Byte-compile with the final paths (tracebacks name /opt/..., not the build folder). A few
# third-party files are templates that do not compile, and say so; that is not an error.
$PY -m compileall -q -j 2 -s "$ROOT" -p / "$STAGE/lib" >/dev/null 2>&1 || true
if grep -rqI "$WORK" "$STAGE/bin" "$STAGE/pyvenv.cfg"; then
  echo "build-deb: the build folder is still named in the venv" >&2; exit 1
fi

# --- menu entry, icon, units, docs, the command on PATH --------------------------------------
install -D -m 644 installer/dispatch-desk.desktop "$ROOT/usr/share/applications/dispatch-desk.desktop"
install -D -m 644 resources/dispatch-desk.svg \
  "$ROOT/usr/share/icons/hicolor/scalable/apps/dispatch-desk.svg"
units=""
for unit in dispatch-desk-store.service dispatch-desk-run.service; do
  if [ -f "installer/$unit" ]; then
    install -D -m 644 "installer/$unit" "$ROOT/lib/systemd/system/$unit"
    units="$units $unit"
  fi
done
install -D -m 644 README.md "$STAGE/share/doc/dispatch-desk/README.md"
install -D -m 644 installer/README.md "$STAGE/share/doc/dispatch-desk/INSTALL.md"
[ -f docs/server.md ] && install -m 644 docs/server.md "$STAGE/share/doc/dispatch-desk/"
install -d "$ROOT/usr/bin"
ln -s "$PREFIX/bin/dispatch-desk" "$ROOT/usr/bin/dispatch-desk"

# --- control files ---------------------------------------------------------------------------
QT_DEPENDS="libegl1, libgl1, libfontconfig1, libglib2.0-0, libdbus-1-3, libxkbcommon0,
 fonts-dejavu-core, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-image0,
 libxcb-render-util0, libxcb-shape0, libxcb-xkb1, libxkbcommon-x11-0, libwayland-cursor0"
install -d "$ROOT/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
cat >"$ROOT/DEBIAN/control" <<EOF
Package: dispatch-desk
Version: $VERSION
Architecture: $ARCH
Maintainer: Dispatch Desk maintainers <maintainers@users.noreply.example>
Installed-Size: $size
Depends: python3.11, passwd, $(tr -d '\n' <<<"$QT_DEPENDS")
Recommends: fonts-dejavu, alsa-utils
Suggests: postgresql
Section: utils
Priority: optional
Description: offline-first desktop client for emergency dispatch desks
 A local SQLite journal of incident cards and their SLA clocks that keeps working with no
 network, syncs to a central store, runs the escalation ladder, prints the handover sheet
 and has a wallboard. Includes the central store (dispatch-desk server) and systemd units
 for the store and the headless desk, installed disabled.
EOF
cat >"$ROOT/DEBIAN/postinst" <<'EOF'
#!/bin/sh
# The account the systemd units run as; its home holds the headless desk's journal.
set -e
if [ "$1" = configure ]; then
  if ! getent passwd dispatch-desk >/dev/null; then
    useradd --system --user-group --home-dir /var/lib/dispatch-desk --create-home \
      --shell /usr/sbin/nologin dispatch-desk
  fi
  # The units are installed, never enabled or started here: an admin chooses.
  if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
fi
exit 0
EOF
cat >"$ROOT/DEBIAN/prerm" <<'EOF'
#!/bin/sh
# Byte-code written after installation (a different Python build) would stop dpkg removing
# the folders; the journals are never here (they are in each user's ~/.local/share and in
# /var/lib/dispatch-desk), so nothing of a user's is touched.
set -e
find /opt/dispatch-desk -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true
exit 0
EOF
cat >"$ROOT/DEBIAN/postrm" <<'EOF'
#!/bin/sh
# Removing or purging keeps every journal: ~/.local/share/dispatch-desk/ of each user,
# /var/lib/dispatch-desk/ of the service account, and /etc/dispatch-desk/ (the store's
# environment file) belong to their owners, not to the package. The account stays too.
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
exit 0
EOF
chmod 755 "$ROOT/DEBIAN/postinst" "$ROOT/DEBIAN/prerm" "$ROOT/DEBIAN/postrm"

mkdir -p "$OUT"
deb="$OUT/dispatch-desk_${VERSION}_${ARCH}.deb"
echo "== build-deb: dpkg-deb (zstd) ->$units included"
dpkg-deb --root-owner-group -Zzstd --build "$ROOT" "$deb" >/dev/null
echo "== build-deb: $(du -h "$deb" | cut -f1), installed $((size / 1024)) MB"
echo "$deb"
