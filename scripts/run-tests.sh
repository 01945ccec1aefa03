#!/usr/bin/env bash
# The one test command (README and .ci/run): set up, lint, type-check, layering, then pytest.
# The store's tests run on a PostgreSQL cluster of their own, started here and stopped when
# this script ends (scripts/ensure-postgres.sh), unless DD_TEST_POSTGRES_URL names a server.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="server,test" EXTRA_DEBS="poppler-utils prometheus-alertmanager dovecot-imapd alsa-utils" bash scripts/setup-env.sh
# Xvfb, openbox and xdotool for the real-window suite (tests/realwindow): offscreen Qt
# cannot see focus bugs.
bash scripts/ensure-xvfb.sh
# shellcheck source=scripts/ensure-postgres.sh
source scripts/ensure-postgres.sh
export QT_QPA_PLATFORM=offscreen
V=.venv/bin
echo "== ruff";  $V/ruff check app tests bench
echo "== mypy";  $V/mypy app
echo "== layers"; $V/lint-imports
echo "== pytest"; $V/python -m pytest "$@"
