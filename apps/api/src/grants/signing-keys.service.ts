import fs from 'node:fs';
import path from 'node:path';
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { exportJWK, generateKeyPair } from 'jose';
import { DataSource } from 'typeorm';
import { GRANT_TTL_MAX_SECS } from '@aegis/protocol';
import { SigningKeyRow } from '../db/entities.js';
import { isSealed, seal, unseal } from './key-sealing.js';
import { LOGGER, type Logger } from '../logger.js';
import { CLOCK, type Clock } from '../clock.js';
import { CONFIG, type Config } from '../config.js';

export interface ActiveKey {
  kid: string;
  key: KeyObject;
}

/**
 * Ed25519 grant-signing keys live in the database (shared by all instances). The newest unretired key signs;
 * retired keys stay published until every grant they signed has expired.
 */
@Injectable()
export class SigningKeysService {
  private active: ActiveKey | undefined;
  private loadedAt = 0;

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CONFIG) private readonly cfg: Config,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  private get repo() {
    return this.ds.getRepository(SigningKeyRow);
  }

  async init(): Promise<void> {
    await this.sealStored();
    if (!(await this.rotateIfDue())) await this.load();
  }

  /**
   * With a sealing secret configured, seal every private key still stored as plain JWK (a database from before
   * the secret was set), so no readable signing key is left in it. Without one, say that keys are unsealed.
   */
  private async sealStored(): Promise<void> {
    const secret = this.cfg.keyEncryptionSecret;
    const rows = await this.repo.find();
    const plain = rows.filter((r) => !isSealed(r.privateJwk));
    if (!secret) {
      if (plain.length || !rows.length)
        this.log.warn(
          'grant-signing keys are stored unsealed; set AEGIS_KEY_ENCRYPTION_SECRET_FILE (npm start does) to seal them',
        );
      return;
    }
    for (const r of plain) await this.repo.update({ kid: r.kid }, { privateJwk: seal(r.privateJwk, secret) as never });
    if (plain.length) this.log.info({ keys: plain.length }, 'sealed stored grant-signing keys');
  }

  /** Rotate when the newest key is older than SIGNING_KEY_ROTATE_HOURS (checked at start and by the sweeper). */
  async rotateIfDue(): Promise<boolean> {
    const current = await this.newest();
    if (current && current.createdAt + this.cfg.signingKeyRotateHours * 3600_000 >= this.clock.now()) return false;
    await this.rotate();
    return true;
  }

  private newest(): Promise<SigningKeyRow | null> {
    return this.repo
      .find({ order: { createdAt: 'DESC' }, take: 5 })
      .then((rows) => rows.find((r) => r.retiredAt === null) ?? null);
  }

  /** Make a new signing key and retire the others (they keep verifying until their grants expire). */
  async rotate(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = `${new Date(this.clock.now()).toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;
    const pub = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
    const priv = { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' };
    const now = this.clock.now();
    await this.ds.transaction(async (em) => {
      await em.createQueryBuilder().update(SigningKeyRow).set({ retiredAt: now }).where('retired_at IS NULL').execute();
      await em.save(
        Object.assign(new SigningKeyRow(), {
          kid,
          publicJwk: pub,
          privateJwk: seal(priv, this.cfg.keyEncryptionSecret),
          createdAt: now,
          retiredAt: null,
        }),
      );
    });
    await this.load();
    return kid;
  }

  private async load(): Promise<void> {
    const row = await this.newest();
    if (!row) throw new Error('no signing key');
    this.active = {
      kid: row.kid,
      key: createPrivateKey({ key: unseal(row.privateJwk, this.cfg.keyEncryptionSecret) as never, format: 'jwk' }),
    };
    this.loadedAt = this.clock.now();
    this.writeJwksFile(await this.jwks());
  }

  /** The key to sign with; re-read every 30 s so a rotation on another instance is picked up. */
  async signer(): Promise<ActiveKey> {
    if (!this.active || this.clock.now() - this.loadedAt > 30_000) await this.load();
    return this.active!;
  }

  /** Public keys still able to verify a live grant. */
  async jwks(): Promise<{ keys: Record<string, unknown>[] }> {
    const cutoff = this.clock.now() - (GRANT_TTL_MAX_SECS + 60) * 1000;
    const rows = await this.repo.find({ order: { createdAt: 'DESC' } });
    return { keys: rows.filter((r) => r.retiredAt === null || r.retiredAt > cutoff).map((r) => r.publicJwk) };
  }

  private writeJwksFile(jwks: { keys: Record<string, unknown>[] }): void {
    fs.mkdirSync(this.cfg.dataDir, { recursive: true });
    const file = path.join(this.cfg.dataDir, 'jwks.json');
    fs.writeFileSync(file + '.tmp', JSON.stringify(jwks, null, 2));
    fs.renameSync(file + '.tmp', file);
  }
}
