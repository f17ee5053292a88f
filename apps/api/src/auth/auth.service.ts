import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiKeyRow, MachineRow, UserRow } from '../db/entities.js';
import { AppError } from '../errors.js';
import { CLOCK, type Clock } from '../clock.js';
import { hashSecret, MACHINE_TOKEN_PREFIX, USER_KEY_PREFIX } from './secrets.js';
import type { MachinePrincipal, UserPrincipal } from './principal.js';

/** Credentials are looked up by hash; a short per-instance cache keeps hot paths (grants, polls) off the DB. */
const CACHE_MS = 2000;
const TOUCH_EVERY_MS = 60_000;

@Injectable()
export class AuthService {
  private readonly cache = new Map<string, { at: number; p: UserPrincipal | MachinePrincipal }>();
  private readonly touched = new Map<string, number>();
  /** Lookups in flight: concurrent requests with one key (a cache expiry under load) share one DB read. */
  private readonly loading = new Map<string, Promise<UserPrincipal>>();

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Forget cached credentials (after a revoke on this instance). */
  forget(): void {
    this.cache.clear();
    this.loading.clear();
  }

  async user(secret: string | undefined): Promise<UserPrincipal> {
    if (!secret) throw new AppError(401, 'unauthenticated', 'Send an API key as "Authorization: Bearer aegis_u_…".');
    if (!secret.startsWith(USER_KEY_PREFIX))
      throw new AppError(401, 'unauthenticated', 'This is not a user API key (they start with aegis_u_).');
    const hash = hashSecret(secret);
    const now = this.clock.now();
    const hit = this.cache.get(hash);
    if (hit && now - hit.at < CACHE_MS && hit.p.kind === 'user') return hit.p;
    const inFlight = this.loading.get(hash);
    if (inFlight) return inFlight;
    const lookup = this.lookupUser(hash, now).finally(() => {
      if (this.loading.get(hash) === lookup) this.loading.delete(hash);
    });
    this.loading.set(hash, lookup);
    return lookup;
  }

  private async lookupUser(hash: string, now: number): Promise<UserPrincipal> {
    const key = await this.ds.getRepository(ApiKeyRow).findOneBy({ hash });
    if (!key || key.revokedAt !== null)
      throw new AppError(401, 'unauthenticated', 'This API key is unknown or was revoked; create a new one.');
    const user = await this.ds.getRepository(UserRow).findOneBy({ id: key.userId });
    if (!user || user.disabled) throw new AppError(403, 'forbidden', 'This user is disabled; ask an administrator.');
    const p: UserPrincipal = { kind: 'user', userId: user.id, name: user.name, role: user.role, keyId: key.id };
    this.cache.set(hash, { at: now, p });
    if (this.cache.size > 10_000) this.cache.clear();
    if ((this.touched.get(key.id) ?? 0) + TOUCH_EVERY_MS < now) {
      this.touched.set(key.id, now);
      await this.ds.getRepository(ApiKeyRow).update({ id: key.id }, { lastUsedAt: now });
    }
    return p;
  }

  async machine(secret: string | undefined): Promise<MachinePrincipal> {
    if (!secret || !secret.startsWith(MACHINE_TOKEN_PREFIX))
      throw new AppError(401, 'unauthenticated', 'Send a machine token as "Authorization: Bearer aegis_m_…".');
    const hash = hashSecret(secret);
    const now = this.clock.now();
    const hit = this.cache.get(hash);
    if (hit && now - hit.at < CACHE_MS && hit.p.kind === 'machine') return hit.p;
    const m = await this.ds.getRepository(MachineRow).findOneBy({ tokenHash: hash });
    if (!m) throw new AppError(401, 'unauthenticated', 'This machine token is unknown or the machine was removed.');
    const p: MachinePrincipal = { kind: 'machine', machineId: m.id, name: m.name };
    this.cache.set(hash, { at: now, p });
    return p;
  }
}
