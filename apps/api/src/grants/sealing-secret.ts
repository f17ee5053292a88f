import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The file `npm start` keeps the key-sealing secret in, inside the data dir. */
export const SEALING_SECRET_FILE = 'key-secret';

/**
 * Make sure the data dir is private (0700, tightened if it was opened) and holds a sealing secret in its own
 * 0600 file, created once with 32 random bytes. Returns the file's path (for AEGIS_KEY_ENCRYPTION_SECRET_FILE).
 * Used by `npm start` so grant-signing keys are sealed in the database by default.
 */
export function ensureSealingSecretFile(dataDir: string): string {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if ((fs.statSync(dataDir).mode & 0o077) !== 0) fs.chmodSync(dataDir, 0o700);
  const file = path.join(dataDir, SEALING_SECRET_FILE);
  try {
    fs.writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  return file;
}

/** Read a secret file; refuses one that other users could read, and an empty one. */
export function readSecretFile(file: string, setting: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new Error(`${setting} names ${file}, which does not exist; create it (mode 0600) or unset ${setting}.`);
  }
  if ((st.mode & 0o077) !== 0)
    throw new Error(`${file} (${setting}) is readable by other users; run chmod 600 ${file}.`);
  const secret = fs.readFileSync(file, 'utf8').trim();
  if (secret.length < 16) throw new Error(`${file} (${setting}) must hold a secret of at least 16 characters.`);
  return secret;
}
