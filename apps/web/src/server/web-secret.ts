import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { deriveSealKey } from './session-seal';

/**
 * The server secret that seals session cookies: `AEGIS_WEB_SECRET`, else a random one generated once into
 * `$AEGIS_DATA_DIR/web-secret` (default `.aegis/` in the working directory), readable by this user only.
 */
export function loadWebSecret(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AEGIS_WEB_SECRET && env.AEGIS_WEB_SECRET.length >= 16) return env.AEGIS_WEB_SECRET;
  const file = resolve(env.AEGIS_DATA_DIR ?? '.aegis', 'web-secret');
  try {
    const s = readFileSync(file, 'utf8').trim();
    if (s.length >= 32) return s;
  } catch {}
  const s = randomBytes(32).toString('base64url');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, s + '\n', { mode: 0o600, flag: 'w' });
  return s;
}

let cached: Promise<CryptoKey> | null = null;
export function sealKey(): Promise<CryptoKey> {
  cached ??= deriveSealKey(loadWebSecret());
  return cached;
}
