#!/usr/bin/env bash
# The Debian packages Aegis needs on this host, in one list for `npm start` and `.ci/run`:
#   scripts/system-packages.sh [--ci]
# Installs the missing ones when run as root (apt-get update only when a package cannot be found); otherwise
# prints the apt-get command to run and exits 1. --ci adds what only the test suite needs (PostgreSQL, Chromium,
# the deployment checks, coturn).
# The ESP-IDF kit's own run-time packages (its apt-packages.txt) are included when the kit is present.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
kit="${AEGIS_IDF_KIT:-$here/../../shared/esp-idf-kit}"

pkgs=(
  bubblewrap   # the build sandbox
  util-linux   # prlimit, setpriv, unshare, flock
  iproute2     # ip (loopback in test network namespaces)
  ccache       # shared compiler cache of the build machine
)
if [ "${1:-}" = "--ci" ]; then
  # docker-compose (Debian's, v1), haproxy and systemd-analyze check the deployment files offline;
  # coturn is the TURN relay test's.
  pkgs+=(chromium postgresql docker-compose haproxy coturn systemd)
fi
if [ -f "$kit/apt-packages.txt" ]; then
  mapfile -t kit_pkgs < <(sed 's/#.*//' "$kit/apt-packages.txt" | awk 'NF{print $1}')
  pkgs+=("${kit_pkgs[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd=(apt-get install -y -qq --no-install-recommends "${missing[@]}")
if [ "$(id -u)" != 0 ]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them as root, then run this again:" >&2
  echo "  sudo ${cmd[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${cmd[@]}" 2>/dev/null || { apt-get update -qq && "${cmd[@]}"; }
