#!/usr/bin/env bash
# Set up and open the desk on its embedded defaults: a local journal, no server.
# Extra arguments go to dispatch-desk: --demo (one demo journal, reused; --demo --fresh starts
# it anew), --wallboard, --journal PATH, or a command (`server`, `card list`, ...).
# The setup installs the server extras too, so `dispatch-desk server` works after it.
set -euo pipefail
cd "$(dirname "$0")/.."
# alsa-utils: aplay, so the notices (a new P1, a breach) are heard, not only shown.
EXTRAS="server" EXTRA_DEBS="alsa-utils" bash scripts/setup-env.sh
exec .venv/bin/dispatch-desk "$@"
