#!/usr/bin/env bash
# Installs real ESP-IDF into the build machine's store.
#
#   scripts/provision-store.sh [--store DIR] --kit KIT_DIR                     offline, from an ESP-IDF kit
#   scripts/provision-store.sh [--store DIR] [--default VERSION] VERSION...     online, e.g. 5.3.1 5.2.2
#
# Offline (--kit, e.g. ../shared/esp-idf-kit): runs the kit's install.sh into <store>/idf/<version> (idempotent:
# unchanged archives are not unpacked again), then checksums idf.py, the kit's export.sh and every toolchain
# binary into <store>/manifest.json. Needs only Debian packages (install.sh installs them when run as root).
# Online: for each version git clone --branch v<version> (with submodules, needs GitHub and PyPI) into
# <store>/idf/<version>, run its install.sh with IDF_TOOLS_PATH=<store>/tools, ask it for its targets and tool
# directories, then checksum everything and update <store>/manifest.json atomically (scripts/store-manifest.mjs).
# Either way the store is world-readable and works read-only at any mount path (the sandbox binds it read-only).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
store="${ESPCTL_STORE_ROOT:-/opt/espctl-store}"
repo="${ESPCTL_IDF_REPO:-https://github.com/espressif/esp-idf.git}"
default_version=""
kit=""
versions=()

while [ $# -gt 0 ]; do
  case "$1" in
    --store) store="$2"; shift 2 ;;
    --default) default_version="${2#v}"; shift 2 ;;
    --kit) kit="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "provision-store: unknown option $1" >&2; exit 2 ;;
    *) versions+=("${1#v}"); shift ;;
  esac
done
if [ -n "$kit" ]; then
  [ ${#versions[@]} -eq 0 ] || { echo "provision-store: give either --kit or versions, not both" >&2; exit 2; }
  if [ ! -x "$kit/install.sh" ]; then
    echo "provision-store: $kit is not an ESP-IDF kit (no install.sh there)" >&2
    exit 2
  fi
  kit="$(cd "$kit" && pwd)"
  archive="$(cd "$kit" && ls esp-idf-v*.tar.zst 2>/dev/null | head -1)"
  v="${archive#esp-idf-v}"; v="${v%.tar.zst}"
  if ! [[ "$v" =~ ^[0-9]+(\.[0-9]+){1,2}$ ]]; then
    echo "provision-store: $kit has no esp-idf-v<version>.tar.zst archive" >&2
    exit 2
  fi
  mkdir -p "$store/idf"
  chmod 755 "$store" "$store/idf"
  store="$(cd "$store" && pwd)"
  dest="$store/idf/$v"
  echo "== installing the ESP-IDF v$v kit from $kit into $dest"
  # Debian's python3 and system tools only: the venv it makes must work inside the sandbox.
  env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$kit/install.sh" "$dest"
  targets=()
  tool_dirs=()
  if [ -d "$dest/tools/riscv32-esp-elf/bin" ]; then targets+=(esp32c3); tool_dirs+=("$dest/tools/riscv32-esp-elf/bin"); fi
  if [ -d "$dest/tools/xtensa-esp32-elf/bin" ]; then targets+=(esp32); tool_dirs+=("$dest/tools/xtensa-esp32-elf/bin"); fi
  [ -d "$dest/tools/qemu/bin" ] && tool_dirs+=("$dest/tools/qemu/bin")
  tool_dirs+=("$dest/python_env/bin")
  if [ ${#targets[@]} -eq 0 ]; then
    echo "provision-store: the kit installed no toolchain in $dest/tools" >&2
    exit 1
  fi
  node "$here/store-manifest.mjs" add --store "$store" --version "$v" --path "idf/$v/esp-idf" \
    --export "$dest/export.sh" --targets "$(IFS=,; echo "${targets[*]}")" \
    --tool-dirs "$(IFS=:; echo "${tool_dirs[*]}")" --default
  chmod -R a+rX "$dest"
  echo "== store ready: $store (set ESPCTL_STORE_ROOT=$store)"
  exit 0
fi
if [ ${#versions[@]} -eq 0 ]; then
  echo "usage: $0 [--store DIR] --kit KIT_DIR   or   $0 [--store DIR] [--default VERSION] VERSION..." >&2
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
