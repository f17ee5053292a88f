import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { EspctlError } from '../errors.js';

export const Credentials = z.object({ server: z.string().url(), token: z.string().min(8).max(512) }).strict();
export type Credentials = z.infer<typeof Credentials>;

/** `$XDG_CONFIG_HOME/espctl` (default `~/.config/espctl`). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME)
      ? env.XDG_CONFIG_HOME
      : path.join(os.homedir(), '.config');
  return path.join(base, 'espctl');
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDir(env), 'credentials.json');
}

/** Written 0600 in a 0700 directory: the token is a secret. */
export async function saveCredentials(c: Credentials, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const file = credentialsPath(env);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify(c, null, 2) + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}

export async function loadCredentials(env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  const file = credentialsPath(env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return Credentials.parse(JSON.parse(text));
  } catch {
    throw new EspctlError('config_invalid', `${file} is damaged; run espctl login again.`);
  }
}

/** Environment (CONTROL_BASE_URL + MCP_AUTH_SECRET) wins over the saved login. */
export async function resolveCredentials(env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  if (env.CONTROL_BASE_URL && env.MCP_AUTH_SECRET) return { server: env.CONTROL_BASE_URL, token: env.MCP_AUTH_SECRET };
  return loadCredentials(env);
}
