#!/usr/bin/env bash
# Set up and open the desk on its embedded defaults: a local journal, no server.
# Extra arguments go to dispatch-desk (for example --demo, or --journal PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-env.sh
exec .venv/bin/dispatch-desk "$@"
