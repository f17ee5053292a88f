#!/usr/bin/env bash
# Build machine container start: the system packages (only what is missing), the ESP-IDF store from the kit mounted
# at /kit into the store volume (once; about a second afterwards), then the machine itself.
set -euo pipefail
cd /app
bash scripts/system-packages.sh
export ESPCTL_STORE_ROOT="${ESPCTL_STORE_ROOT:-/store}"
node scripts/idf-store.mjs "$ESPCTL_STORE_ROOT" >/dev/null
exec "$@"
