#!/usr/bin/env bash
# The store's tests run against real PostgreSQL on 127.0.0.1:5432 as user postgres with no
# password (how CI machines here are set up). When nothing listens there and apt-get exists,
# install Debian's postgresql and let loopback connections of user postgres in (trust,
# 127.0.0.1 only). A machine that already runs PostgreSQL is left alone.
set -euo pipefail

listening() {
  python3 -c 'import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(0 if s.connect_ex(("127.0.0.1",5432))==0 else 1)'
}

listening && exit 0
if ! command -v apt-get >/dev/null; then
  echo "PostgreSQL is not listening on 127.0.0.1:5432 and there is no apt-get: the store's" \
       "PostgreSQL tests will fail. Start PostgreSQL (user postgres, trust on 127.0.0.1)." >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "Installing PostgreSQL for the store's tests (loopback only)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
version=$(ls /etc/postgresql | sort -V | tail -1)
hba="/etc/postgresql/$version/main/pg_hba.conf"
if ! $SUDO grep -q "dispatch-desk tests" "$hba"; then
  $SUDO sed -i '1i host all postgres 127.0.0.1/32 trust # dispatch-desk tests' "$hba"
fi
$SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
  || $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload
for _ in $(seq 50); do listening && exit 0; sleep 0.2; done
echo "PostgreSQL was installed but does not listen on 127.0.0.1:5432" >&2
