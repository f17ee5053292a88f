import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { EspctlError } from '../errors.js';

/** `idf.py` from $IDF_PATH/tools or PATH: a local ESP-IDF (or the test store's). */
export async function findIdfPy(env: NodeJS.ProcessEnv): Promise<string> {
  const candidates = [
    ...(env.IDF_PATH ? [path.join(env.IDF_PATH, 'tools', 'idf.py')] : []),
    ...(env.PATH ?? '')
      .split(path.delimiter)
      .filter(Boolean)
      .map((d) => path.join(d, 'idf.py')),
  ];
  for (const c of candidates) {
    try {
      await access(c);
      return c;
    } catch {
      // next
    }
  }
  throw new EspctlError(
    'idf_not_found',
    'No local ESP-IDF found (set IDF_PATH or put idf.py on PATH); build remotely without --local.',
  );
}

/** Run `idf.py <args>` in the project, passing each output line on; resolves with the exit code. */
export function runIdfPy(
  idfPy: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  onLine: (line: string, stream: 'stdout' | 'stderr') => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(idfPy, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const pipe = (s: NodeJS.ReadableStream, stream: 'stdout' | 'stderr'): void => {
      let buf = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        buf += d;
        const parts = buf.split(/\r?\n/);
        buf = parts.pop() ?? '';
        for (const p of parts) onLine(p, stream);
      });
      s.on('end', () => buf && onLine(buf, stream));
    };
    pipe(child.stdout, 'stdout');
    pipe(child.stderr, 'stderr');
    child.on('error', (e) => reject(new EspctlError('idf_not_found', `Could not run ${idfPy}: ${e.message}`)));
    child.on('close', (code) => resolve(code ?? 1));
  });
}
