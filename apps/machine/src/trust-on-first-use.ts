import { writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { importJwks, staticTrustedKeys, type TrustedKeys } from './grants/trusted-keys.js';

/**
 * DEVELOPMENT ONLY: fetch the API's JWKS once, at start (never while checking a grant), save it and trust it.
 * Anyone who can impersonate the API at that moment can mint grants for this machine.
 */
export async function trustOnFirstUse(apiUrl: string, savePath: string, log: Logger): Promise<TrustedKeys> {
  log.warn(
    '!!! --trust-on-first-use: trusting whatever keys the API serves right now. Do not use this in production; set AEGIS_TRUSTED_JWKS instead. !!!',
  );
  const res = await fetch(`${apiUrl.replace(/\/+$/, '')}/.well-known/jwks.json`, {
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`Fetching the API's JWKS failed with HTTP ${res.status}.`);
  const json: unknown = await res.json();
  const keys = await importJwks(json);
  await writeFile(savePath, JSON.stringify(json, null, 2), { mode: 0o600 });
  log.warn({ kids: [...keys.keys()], savedTo: savePath }, 'TOFU: trusting these grant keys from now on');
  return staticTrustedKeys(keys);
}
