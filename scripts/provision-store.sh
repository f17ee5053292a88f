#!/usr/bin/env bash
# Installs real ESP-IDF releases into the build machine's store (needs GitHub and PyPI; it cannot run on the
# offline development machines, where `node scripts/make-test-store.mjs` makes the test toolchain instead).
#
#   scripts/provision-store.sh [--store DIR] [--default VERSION] VERSION...      e.g. 5.3.1 5.2.2
#
# For each version: git clone --branch v<version> (with submodules) into <store>/idf/<version>, run its
# install.sh with IDF_TOOLS_PATH=<store>/tools, ask it for its targets and tool directories, then checksum
# everything and update <store>/manifest.json atomically (scripts/store-manifest.mjs).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
store="${ESPCTL_STORE_ROOT:-/opt/espctl-store}"
repo="${ESPCTL_IDF_REPO:-https://github.com/espressif/esp-idf.git}"
default_version=""
versions=()

while [ $# -gt 0 ]; do
  case "$1" in
    --store) store="$2"; shift 2 ;;
    --default) default_version="${2#v}"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "provision-store: unknown option $1" >&2; exit 2 ;;
    *) versions+=("${1#v}"); shift ;;
  esac
done
if [ ${#versions[@]} -eq 0 ]; then
  echo "usage: $0 [--store DIR] [--default VERSION] VERSION..." >&2
  exit 2
fi
for v in "${versions[@]}"; do
  if ! [[ "$v" =~ ^[0-9]+(\.[0-9]+){1,2}(-[A-Za-z0-9.]+)?$ ]]; then
    echo "provision-store: '$v' is not an ESP-IDF release like 5.3.1" >&2
    exit 2
  fi
done

mkdir -p "$store/idf" "$store/tools"
chmod 755 "$store" "$store/idf" "$store/tools"
store="$(cd "$store" && pwd)"

for v in "${versions[@]}"; do
  dest="$store/idf/$v"
  if [ -d "$dest/.git" ] && [ "$(git -C "$dest" describe --tags --exact-match 2>/dev/null || true)" = "v$v" ]; then
    echo "== ESP-IDF v$v already cloned in $dest"
  else
    echo "== cloning ESP-IDF v$v into $dest"
    rm -rf "$dest.tmp"
    git clone --quiet --depth 1 --branch "v$v" --recursive --shallow-submodules "$repo" "$dest.tmp"
    rm -rf "$dest"
    mv "$dest.tmp" "$dest"
  fi
  commit="$(git -C "$dest" rev-parse HEAD)"

  # ESP-IDF takes IDF_VER from version.txt when git cannot answer (the sandbox user does not own the checkout).
  [ -f "$dest/version.txt" ] || echo "v$v" > "$dest/version.txt"

  echo "== installing the tools of v$v into $store/tools"
  # The system python (under /usr, which the sandbox mounts), never a per-user one (pyenv, ~/.local): the
  # python_env it makes must work inside the sandbox.
  env PATH=/usr/local/bin:/usr/bin:/bin IDF_TOOLS_PATH="$store/tools" "$dest/install.sh" all

  # What export.sh puts on PATH (inside the store) are this version's tool directories.
  probe() {
    env -i HOME="${HOME:-/root}" PATH=/usr/local/bin:/usr/bin:/bin IDF_PATH="$dest" IDF_TOOLS_PATH="$store/tools" \
      bash -c ". \"$dest/export.sh\" >/dev/null 2>&1 && $1"
  }
  tool_dirs="$(probe 'printf "%s" "$PATH"' | tr ':' '\n' | grep "^$store/" | paste -sd: -)"
  targets="$(probe 'idf.py --list-targets' | tr '\n' ',' )"
  if [ -z "$targets" ]; then
    echo "provision-store: idf.py --list-targets printed nothing for v$v; is the install complete?" >&2
    exit 1
  fi

  args=(add --store "$store" --version "$v" --path "idf/$v" --commit "$commit" --targets "$targets" --tool-dirs "$tool_dirs")
  if [ "$v" = "$default_version" ]; then args+=(--default); fi
  node "$here/store-manifest.mjs" "${args[@]}"
  chmod -R a+rX "$dest"
done
chmod -R a+rX "$store/tools"
echo "== store ready: $store (set ESPCTL_STORE_ROOT=$store)"
