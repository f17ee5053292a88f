import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../..', import.meta.url));
export const WEB_DIR = fileURLToPath(new URL('../..', import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface WebServer {
  url: string;
  logs: string[];
  stop(): Promise<void>;
}

/**
 * Runs `next start` of the built dashboard. Started with node directly (not npx), so the PID we hold is the
 * server itself and killing it really stops it.
 */
export async function startWeb(env: Record<string, string>): Promise<WebServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [`${REPO}node_modules/next/dist/bin/next`, 'start', '-H', '127.0.0.1', '-p', String(port), WEB_DIR],
    { env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`next start not ready in 60 s:\n${logs.join('')}`)), 60_000);
    const onData = (b: Buffer) => {
      logs.push(b.toString());
      if (/Ready|started server|Local:/i.test(b.toString())) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`next start exited (${code}):\n${logs.join('')}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    logs,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
