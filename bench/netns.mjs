// Benchmarks that run an API, a machine and WebRTC clients send zero packets out: started outside a private network
// namespace, they build the dists and re-run themselves inside one (unshare -n, loopback only).
import { spawnSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Outside a private namespace: `tsc -b`, then this script again inside one, and exit with its status. Inside one:
 * returns. A failed `tsc -b` (others' work in progress) measures the existing dists and sets BENCH_STALE_DIST=1.
 */
export function reexecInNetns(self) {
  if (!Object.keys(networkInterfaces()).some((name) => name !== 'lo')) return;
  const tsc = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-b', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (tsc.status !== 0) console.error(`${self}: WARNING: tsc -b failed; measuring the existing dists.`);
  const r = spawnSync(
    'unshare',
    ['-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, self, ...process.argv.slice(2)],
    { cwd: root, stdio: 'inherit', env: { ...process.env, ...(tsc.status !== 0 ? { BENCH_STALE_DIST: '1' } : {}) } },
  );
  process.exit(r.status ?? 1);
}
