#!/usr/bin/env node
/**
 * The real ESP-IDF store used by `npm start`, `npm test` and `npm run bench`, provisioned once from the offline
 * kit (scripts/provision-store.sh --kit) and reused afterwards: the kit's install.sh skips archives it already
 * unpacked, so a second call takes about a second. Serialised with flock(1), so parallel callers are safe.
 *
 *   node scripts/idf-store.mjs [store-dir]        prints the store path
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Where the kit is: AEGIS_IDF_KIT, else `../shared/esp-idf-kit` beside the repository. */
export function kitDir() {
  return path.resolve(process.env.AEGIS_IDF_KIT ?? path.join(root, '..', 'shared', 'esp-idf-kit'));
}

export class KitMissingError extends Error {}

/**
 * `preferred`, or `fallback` when a root machine's sandbox users could not reach `preferred`: bwrap runs as a
 * dedicated unprivileged uid per job and must traverse every directory above the store and the job workspaces
 * (a clone under a 0700 home or temp directory is not). Unprivileged, the sandbox runs as us: any path works.
 */
export function sandboxReachable(preferred, fallback) {
  if (process.getuid?.() !== 0) return preferred;
  let dir = path.dirname(path.resolve(preferred));
  for (;;) {
    let st;
    try {
      st = statSync(dir);
    } catch {
      st = undefined; // not made yet: mkdir gives it 0755
    }
    if (st && (st.mode & 0o001) === 0) return fallback;
    const up = path.dirname(dir);
    if (up === dir) return preferred;
    dir = up;
  }
}

/** The store every build test shares: `<repo>/.test-store/idf`, or /var/tmp when the sandbox cannot reach that. */
export function testStoreDir() {
  return sandboxReachable(path.join(root, '.test-store', 'idf'), '/var/tmp/aegis-test-store/idf');
}

/**
 * Makes sure `store` holds ESP-IDF from the kit; returns its absolute path. `quiet` hides install.sh's progress
 * (printed otherwise). Throws KitMissingError with what to do when there is no kit.
 */
export function ensureIdfStore(store = path.join(root, '.aegis-store'), { quiet = false } = {}) {
  const kit = kitDir();
  if (!existsSync(path.join(kit, 'install.sh'))) {
    throw new KitMissingError(
      `No ESP-IDF kit at ${kit}. Set AEGIS_IDF_KIT to the offline kit's directory (the one with install.sh and ` +
        'esp-idf-v*.tar.zst), or on a machine with internet install a release with ' +
        '`scripts/provision-store.sh --store <dir> 5.1.6` and set ESPCTL_STORE_ROOT=<dir>.',
    );
  }
  const abs = path.resolve(store);
  mkdirSync(abs, { recursive: true, mode: 0o755 });
  // provision-store.sh needs the built protocol package for the target list.
  if (!existsSync(path.join(root, 'libs/protocol/dist/index.js'))) {
    const tsc = spawnSync(path.join(root, 'node_modules/.bin/tsc'), ['-b', 'libs/protocol/tsconfig.build.json'], {
      cwd: root,
      stdio: 'inherit',
    });
    if (tsc.status !== 0) throw new Error('building libs/protocol failed');
  }
  const r = spawnSync(
    'flock',
    [
      path.join(abs, '.provision.lock'),
      'bash',
      path.join(root, 'scripts/provision-store.sh'),
      '--store',
      abs,
      '--kit',
      kit,
    ],
    { cwd: root, encoding: 'utf8', stdio: quiet ? 'pipe' : 'inherit' },
  );
  if (r.status !== 0) {
    throw new Error(
      `Provisioning ESP-IDF from ${kit} into ${abs} failed (exit ${r.status ?? r.signal}).` +
        (quiet ? `\n${r.stdout ?? ''}\n${r.stderr ?? ''}` : ' The output above says why.'),
    );
  }
  return abs;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    console.log(ensureIdfStore(process.argv[2]));
  } catch (e) {
    console.error(`idf-store: ${e.message}`);
    process.exit(1);
  }
}
