import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { REPO, WEB_DIR } from './next-server';

/**
 * Browser suites need the built libs (their package exports point at dist/) and one production build of the
 * dashboard; both are made once per test run. AEGIS_WEB_SKIP_BUILD=1 reuses an existing build.
 */
export default function setup() {
  if (process.env.AEGIS_NETNS !== '1') return;
  if (process.env.AEGIS_WEB_SKIP_BUILD === '1' && existsSync(`${WEB_DIR}.next/BUILD_ID`)) return;
  const run = (cmd: string, args: string[], cwd: string, mustPass = true) => {
    const r = spawnSync(cmd, args, {
      cwd,
      stdio: 'inherit',
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    });
    if (r.status !== 0 && mustPass) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
  };
  // A lib that does not compile yet must not hide the dashboard's own result: next build is the judge.
  run(`${REPO}node_modules/.bin/tsc`, ['-b', 'tsconfig.build.json'], REPO, false);
  run(process.execPath, [`${REPO}node_modules/next/dist/bin/next`, 'build', WEB_DIR], REPO);
}
