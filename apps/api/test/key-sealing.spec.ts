import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { startApi } from '@aegis/testkit';
import { ensureSealingSecretFile, SEALING_SECRET_FILE } from '../src/grants/sealing-secret.js';
import { loadConfig } from '../src/config.js';
import { grantBody, heartbeat, req } from './http.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-seal-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const mode = (p: string) => fs.statSync(p).mode & 0o777;

/** The private JWKs as stored in an API's SQLite file. */
async function storedKeys(dataDir: string): Promise<Record<string, unknown>[]> {
  const ds = await new DataSource({
    type: 'better-sqlite3',
    database: path.join(dataDir, 'aegis.sqlite'),
  }).initialize();
  try {
    const rows: { private_jwk: string }[] = await ds.query('SELECT private_jwk FROM signing_keys');
    return rows.map((r) => JSON.parse(r.private_jwk) as Record<string, unknown>);
  } finally {
    await ds.destroy();
  }
}

describe('the sealing secret npm start creates', () => {
  it('is a 0600 file of its own in a 0700 data dir, made once and kept', () => {
    const dataDir = path.join(tmp(), '.aegis');
    const file = ensureSealingSecretFile(dataDir);
    expect(file).toBe(path.join(dataDir, SEALING_SECRET_FILE));
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(file)).toBe(0o600);
    const secret = fs.readFileSync(file, 'utf8');
    expect(secret.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(ensureSealingSecretFile(dataDir)).toBe(file);
    expect(fs.readFileSync(file, 'utf8')).toBe(secret);
  });

  it('closes a data dir and a secret file that were opened to other users', () => {
    const dataDir = path.join(tmp(), '.aegis');
    const file = ensureSealingSecretFile(dataDir);
    fs.chmodSync(dataDir, 0o755);
    fs.chmodSync(file, 0o644);
    ensureSealingSecretFile(dataDir);
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(file)).toBe(0o600);
  });

  it('is read by the API from AEGIS_KEY_ENCRYPTION_SECRET_FILE, which must not be readable by others', () => {
    const file = ensureSealingSecretFile(path.join(tmp(), '.aegis'));
    const cfg = loadConfig({ AEGIS_KEY_ENCRYPTION_SECRET_FILE: file });
    expect(cfg.keyEncryptionSecret).toBe(fs.readFileSync(file, 'utf8').trim());
    fs.chmodSync(file, 0o640);
    expect(() => loadConfig({ AEGIS_KEY_ENCRYPTION_SECRET_FILE: file })).toThrow(/chmod 600/);
    expect(() => loadConfig({ AEGIS_KEY_ENCRYPTION_SECRET_FILE: path.join(tmp(), 'missing') })).toThrow(
      /does not exist/,
    );
  });
});

describe('grant-signing keys at rest', () => {
  it('are sealed with the secret file, and keys stored unsealed before are sealed at the next start', async () => {
    const dataDir = path.join(tmp(), '.aegis');
    // An API from before: no secret, its key stored as a plain JWK (the private part readable in the file).
    const old = await startApi({ dataDir });
    const adminKey = old.adminKey;
    await old.stop();
    const [plain] = await storedKeys(dataDir);
    expect(plain).toHaveProperty('d');

    const file = ensureSealingSecretFile(dataDir);
    const api = await startApi({ dataDir, adminKey, env: { AEGIS_KEY_ENCRYPTION_SECRET_FILE: file } });
    try {
      // Rotate too: a new key is sealed from the start.
      expect((await req(api.url, 'POST', '/admin/signing-keys/rotate', adminKey)).status).toBe(200);
      const keys = await storedKeys(dataDir);
      expect(keys).toHaveLength(2);
      for (const k of keys) {
        expect(k).toMatchObject({ sealed: 'A256GCM' });
        expect(k).not.toHaveProperty('d');
      }
      // And the sealed key still signs grants.
      const m = await req<{ token: string }>(api.url, 'POST', '/machines', adminKey, { name: 'm' });
      expect((await req(api.url, 'POST', '/agents/register', m.body.token, heartbeat())).status).toBe(200);
      expect((await req(api.url, 'POST', '/grant/request', adminKey, grantBody())).status).toBe(201);
    } finally {
      await api.stop();
    }
    expect(mode(dataDir)).toBe(0o700);
  });
});
