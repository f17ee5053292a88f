import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EspctlError } from '../errors.js';
import { configDir } from './credentials.js';

/** The last job espctl started, so `status`, `logs`, `download` … work without an id. */
export async function rememberJob(jobId: string, target: string | undefined, env: NodeJS.ProcessEnv): Promise<void> {
  const file = path.join(configDir(env), 'last-job.json');
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify({ job_id: jobId, target }) + '\n', { mode: 0o600 });
}

export async function jobIdOrLast(given: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  if (given) return given;
  try {
    const j = JSON.parse(await readFile(path.join(configDir(env), 'last-job.json'), 'utf8')) as { job_id?: string };
    if (j.job_id) return j.job_id;
  } catch {
    // fall through
  }
  throw new EspctlError('task_not_found', 'No job id given and no earlier build remembered; pass a job id.');
}
