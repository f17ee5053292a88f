import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Role } from '@aegis/protocol';
import { ApiKeyRow, UserRow } from '../db/entities.js';
import { CLOCK, type Clock } from '../clock.js';
import { AppError, notFound } from '../errors.js';
import { AuthService } from '../auth/auth.service.js';
import { displayPrefix, hashSecret, newSecret, USER_KEY_PREFIX } from '../auth/secrets.js';

@Injectable()
export class UsersService {
  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly auth: AuthService,
  ) {}

  async createUser(
    name: string,
    role: Role,
    secret?: string,
  ): Promise<{ user: UserRow; key: ApiKeyRow; secret: string }> {
    const user = Object.assign(new UserRow(), {
      id: randomUUID(),
      name,
      role,
      disabled: false,
      createdAt: this.clock.now(),
    });
    return this.ds.transaction(async (em) => {
      await em.save(user);
      const { key, secret: s } = await this.makeKey(user.id, 'first key', secret, em.getRepository(ApiKeyRow));
      return { user, key, secret: s };
    });
  }

  async createKey(userId: string, name: string): Promise<{ key: ApiKeyRow; secret: string }> {
    const user = await this.ds.getRepository(UserRow).findOneBy({ id: userId });
    if (!user) throw notFound('User');
    return this.makeKey(userId, name, undefined, this.ds.getRepository(ApiKeyRow));
  }

  private async makeKey(
    userId: string,
    name: string,
    fixed: string | undefined,
    repo: ReturnType<DataSource['getRepository']>,
  ): Promise<{ key: ApiKeyRow; secret: string }> {
    const secret = fixed ?? newSecret(USER_KEY_PREFIX);
    const key = Object.assign(new ApiKeyRow(), {
      id: randomUUID(),
      userId,
      name,
      prefix: displayPrefix(secret),
      hash: hashSecret(secret),
      createdAt: this.clock.now(),
      lastUsedAt: null,
      revokedAt: null,
    });
    await repo.save(key);
    return { key, secret };
  }

  listUsers(): Promise<UserRow[]> {
    return this.ds.getRepository(UserRow).find({ order: { createdAt: 'ASC' } });
  }

  getUser(id: string): Promise<UserRow | null> {
    return this.ds.getRepository(UserRow).findOneBy({ id });
  }

  listKeys(userId: string): Promise<ApiKeyRow[]> {
    return this.ds.getRepository(ApiKeyRow).find({ where: { userId }, order: { createdAt: 'ASC' } });
  }

  /** Owner (or an admin) revokes a key; takes effect at once on this instance, within 2 s on others. */
  async revokeKey(keyId: string, caller: { userId: string; role: Role }): Promise<ApiKeyRow> {
    const repo = this.ds.getRepository(ApiKeyRow);
    const key = await repo.findOneBy({ id: keyId });
    if (!key || (key.userId !== caller.userId && caller.role !== 'admin')) throw notFound('API key');
    if (key.revokedAt === null) {
      key.revokedAt = this.clock.now();
      await repo.update({ id: key.id }, { revokedAt: key.revokedAt });
    }
    this.auth.forget();
    return key;
  }

  async countUsers(): Promise<number> {
    return this.ds.getRepository(UserRow).count();
  }

  async ensureUniqueName(name: string): Promise<void> {
    if (await this.ds.getRepository(UserRow).findOneBy({ name }))
      throw new AppError(409, 'conflict', `A user named "${name}" already exists.`);
  }
}
