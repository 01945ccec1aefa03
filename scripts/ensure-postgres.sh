# Sourced by run-tests.sh (not run): the store's tests get a PostgreSQL cluster of their own.
#
# Unless DD_TEST_POSTGRES_URL already names a server (then it is used as it is, and nothing is
# started), this makes a new cluster with Debian's initdb in a temporary directory, starts it
# on a free loopback port with trust auth for user postgres, and exports
#   DD_TEST_POSTGRES_URL   postgresql://postgres@127.0.0.1:PORT/postgres
#   DD_TEST_POSTGRES_OWN   the cluster's data directory (tests/install checks it is this one)
# An EXIT trap in the calling shell stops the cluster and removes the directory when the test
# command ends, however it ends. A PostgreSQL that already runs here (on 5432 or anywhere) is
# never used or touched. As root the cluster runs as the `postgres` user (PostgreSQL refuses
# root); as anyone else, as that user.

dd_pg_bindir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

dd_pg_install() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
      sudo="sudo"
    else
      echo "The store's tests need PostgreSQL's initdb (Debian package postgresql), which is" \
           "not installed. Ask an admin to run: apt-get install -y postgresql" >&2
      echo "(or point DD_TEST_POSTGRES_URL at a server where that user may CREATE DATABASE)" >&2
      return 1
    fi
  fi
  echo "== Installing Debian's postgresql for the store's tests (about 20 s). Debian also" \
       "creates and starts its own 'main' cluster; the tests do not use it."
  $sudo apt-get update -q 2>&1 | sed -u 's/^/   apt: /'
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 postgresql \
    2>&1 | sed -u -n '/^\(Get:\|Setting up\|E:\|W:\)/s/^/   apt: /p'
}

dd_pg_stop() {
  if [ -n "${DD_PG_DIR:-}" ] && [ -d "$DD_PG_DIR" ]; then
    $DD_PG_AS "$DD_PG_BIN/pg_ctl" -D "$DD_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$DD_PG_DIR"
  fi
}

dd_pg_start() {
  DD_PG_BIN=$(dd_pg_bindir)
  if [ -z "$DD_PG_BIN" ]; then
    dd_pg_install || return 1
    DD_PG_BIN=$(dd_pg_bindir)
  fi
  DD_PG_AS=""
  DD_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dd-test-pg.XXXXXX")
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$DD_PG_DIR"
    DD_PG_AS="runuser -u postgres --"
  fi
  trap dd_pg_stop EXIT
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "== PostgreSQL for the tests: a new cluster in $DD_PG_DIR on 127.0.0.1:$port"
  $DD_PG_AS "$DD_PG_BIN/initdb" -D "$DD_PG_DIR/data" -U postgres --auth=trust -E UTF8 \
    --no-sync --no-instructions >"$DD_PG_DIR/initdb.log" 2>&1 \
    || { cat "$DD_PG_DIR/initdb.log" >&2; return 1; }
  # The socket lives in the cluster's own directory, not /var/run/postgresql (the system's).
  $DD_PG_AS "$DD_PG_BIN/pg_ctl" -D "$DD_PG_DIR/data" -l "$DD_PG_DIR/server.log" -w -t 60 \
    -o "-p $port -k $DD_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
    start >/dev/null || { cat "$DD_PG_DIR/server.log" >&2; return 1; }
  export DD_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  export DD_TEST_POSTGRES_OWN="$DD_PG_DIR/data"
}

if [ -n "${DD_TEST_POSTGRES_URL:-}" ]; then
  echo "== PostgreSQL for the tests: DD_TEST_POSTGRES_URL as given (nothing started)"
  unset DD_TEST_POSTGRES_OWN
else
  dd_pg_start || { echo "Could not start PostgreSQL for the tests (see above)" >&2; exit 1; }
fi
