import { existsSync } from 'node:fs';
import path from 'node:path';
import type { StoreIdfVersion } from '@aegis/protocol';
import type { Store } from '../store/store.js';
import { storePath } from '../store/store.js';

/**
 * How idf.py runs inside the sandbox: the store's export script (ESP-IDF's own `export.sh`, or the offline kit's)
 * puts its tools on PATH, then idf.py.
 */
export function idfCommand(args: string[]): string[] {
  return exportThen('exec idf.py "$@"', 'idf.py', args);
}

/**
 * The store's export script, then `command` (a shell command line; `$@` are `args`). export.sh is quiet on
 * success; when it fails, its own output says why (missing tools, python env…).
 */
function exportThen(command: string, name: string, args: string[]): string[] {
  const script =
    'log=$(mktemp) && . "$AEGIS_IDF_EXPORT" >"$log" 2>&1 || ' +
    '{ cat "$log" >&2; echo "ESP-IDF export.sh failed; the IDF in the store is incomplete." >&2; exit 3; }; ' +
    `rm -f "$log"; ${command}`;
  // ESP-IDF's export.sh is written for bash (it also supports dash when IDF_PATH is set).
  const shell = existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
  return [shell, '-c', script, name, ...args];
}

/** Runs esp_idf_size on the map that build/project_description.json names (`<project>.map` beside the ELF). */
const SIZE_PY = [
  'import json, os, runpy, sys',
  'd = json.load(open(os.path.join("build", "project_description.json")))',
  'm = os.path.join(d["build_dir"], os.path.splitext(d["app_elf"])[0] + ".map")',
  'sys.argv = ["esp_idf_size", "--format=json"] + sys.argv[1:] + [m]',
  'runpy.run_module("esp_idf_size", run_name="__main__", alter_sys=True)',
].join('\n');

/**
 * The build's size report as JSON on stdout, as ESP-IDF's `size` targets make it (esp_idf_size on the linker
 * map, with the IDF's Python), without `idf.py size`: that first re-runs `ninja all` and its CMake checks, which
 * took most of its time right after a build. `--archives` / `--files`: the per-archive / per-object tables.
 */
export function idfSizeCommand(mode?: '--archives' | '--files'): string[] {
  return exportThen('py=$1; shift; exec python -c "$py" "$@"', 'esp_idf_size', [SIZE_PY, ...(mode ? [mode] : [])]);
}

export function idfEnv(store: Store, v: StoreIdfVersion, workspacePath: string): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: path.posix.join(workspacePath, '.home'),
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    TMPDIR: '/tmp',
    IDF_PATH: storePath(store.root, v.path),
    AEGIS_IDF_EXPORT: exportScriptOf(store, v),
    IDF_TOOLS_PATH: path.join(store.root, 'tools'),
    // No progress bars or colour codes in a streamed log.
    IDF_PY_NO_HINTS: '1',
    NO_COLOR: '1',
    // The store's ESP-IDF checkout belongs to another user than the build; let `git describe` read it anyway.
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'safe.directory',
    GIT_CONFIG_VALUE_0: '*',
  };
}

/** The absolute path of the script that sets up this IDF version's environment. */
export function exportScriptOf(store: Store, v: StoreIdfVersion): string {
  return storePath(store.root, v.export_script ?? path.posix.join(v.path, 'export.sh'));
}
