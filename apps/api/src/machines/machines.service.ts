import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { MachineHeartbeat, MachineKeyView } from '@aegis/protocol';
import { JobRow, MachineRow } from '../db/entities.js';
import { CLOCK, type Clock } from '../clock.js';
import { CONFIG, type Config } from '../config.js';
import { notFound } from '../errors.js';
import { hashSecret, MACHINE_TOKEN_PREFIX, newSecret } from '../auth/secrets.js';
import type { MachineInfo } from '../scheduling/matcher.js';
import { machineKeyViews } from './machine-keys.js';

/** Machines and their liveness. The list is cached for a moment so grant requests don't each read it. */
@Injectable()
export class MachinesService {
  private cache: { at: number; rows: MachineRow[] } | undefined;

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CONFIG) private readonly cfg: Config,
  ) {}

  get offlineAfterSecs(): number {
    return this.cfg.heartbeatIntervalSecs * 3;
  }

  isOnline(m: MachineRow, now = this.clock.now()): boolean {
    return m.lastSeenAt !== null && now - m.lastSeenAt <= this.offlineAfterSecs * 1000;
  }

  info(m: MachineRow, now = this.clock.now()): MachineInfo {
    return {
      id: m.id,
      name: m.name,
      online: this.isOnline(m, now),
      capacity: m.capacity,
      idfVersions: m.idfVersions,
      targets: m.targets,
      builds: m.builds ?? [],
    };
  }

  async all(fresh = false): Promise<MachineRow[]> {
    const now = this.clock.now();
    if (!fresh && this.cache && now - this.cache.at < 1000) return this.cache.rows;
    const rows = await this.ds.getRepository(MachineRow).find({ order: { createdAt: 'ASC' } });
    this.cache = { at: now, rows };
    return rows;
  }

  /**
   * Bundle-signing keys a user may verify against: the machines that ran one of their jobs (a bundle downloaded
   * earlier, from a machine now offline) and the machines online now (what they can build on). Admins see all.
   */
  async keysFor(user: { userId: string; role: string }): Promise<MachineKeyView[]> {
    const rows = await this.all(true);
    if (user.role === 'admin') return machineKeyViews(rows, 'all', (m) => this.isOnline(m));
    const ran = await this.ds
      .getRepository(JobRow)
      .createQueryBuilder('j')
      .select('j.machineId', 'machine_id')
      .distinct(true)
      .where('j.userId = :userId', { userId: user.userId })
      .andWhere('j.machineId IS NOT NULL')
      .getRawMany<{ machine_id: string }>();
    const visible = new Set(ran.map((r) => r.machine_id));
    for (const m of rows) if (this.isOnline(m)) visible.add(m.id);
    return machineKeyViews(rows, visible, (m) => this.isOnline(m));
  }

  async get(id: string): Promise<MachineRow | null> {
    return this.ds.getRepository(MachineRow).findOneBy({ id });
  }

  async create(name: string): Promise<{ machine: MachineRow; token: string }> {
    const token = newSecret(MACHINE_TOKEN_PREFIX);
    const machine = Object.assign(new MachineRow(), {
      id: randomUUID(),
      name,
      tokenHash: hashSecret(token),
      agentVersion: null,
      capacity: null,
      idfVersions: [],
      targets: [],
      builds: [],
      bundlePublicJwk: null,
      lastSeenAt: null,
      createdAt: this.clock.now(),
    });
    await this.ds.getRepository(MachineRow).save(machine);
    this.cache = undefined;
    return { machine, token };
  }

  async remove(id: string): Promise<void> {
    const r = await this.ds.getRepository(MachineRow).delete({ id });
    if (!r.affected) throw notFound('Machine');
    this.cache = undefined;
  }

  /** Register and heartbeat are the same: the machine tells what it is and what it can take now. */
  async heartbeat(id: string, hb: MachineHeartbeat): Promise<MachineRow> {
    const repo = this.ds.getRepository(MachineRow);
    const patch: Partial<MachineRow> = {
      agentVersion: hb.agent_version,
      capacity: hb.capacity,
      idfVersions: hb.idf_versions,
      targets: hb.targets,
      builds: hb.builds ?? [],
      lastSeenAt: this.clock.now(),
    };
    if (hb.bundle_public_jwk) patch.bundlePublicJwk = hb.bundle_public_jwk;
    await repo.update({ id }, patch as never);
    this.cache = undefined;
    const row = await repo.findOneBy({ id });
    if (!row) throw notFound('Machine');
    return row;
  }
}
