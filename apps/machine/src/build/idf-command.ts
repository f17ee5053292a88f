import path from 'node:path';
import type { StoreIdfVersion } from '@aegis/protocol';
import type { Store } from '../store/store.js';
import { storePath } from '../store/store.js';

/**
 * How idf.py runs inside the sandbox: ESP-IDF's own `export.sh` puts its tools on PATH (it works offline once
 * install.sh has run), then idf.py. The test toolchain ships an export.sh with the same contract.
 */
export function idfCommand(args: string[]): string[] {
  return ['/bin/sh', '-c', '. "$IDF_PATH/export.sh" >/dev/null 2>&1 || exit 3; exec idf.py "$@"', 'idf.py', ...args];
}

export function idfEnv(store: Store, v: StoreIdfVersion, workspacePath: string): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: path.posix.join(workspacePath, '.home'),
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    TMPDIR: '/tmp',
    IDF_PATH: storePath(store.root, v.path),
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
