import { DataSource } from 'typeorm';
import type { FlashRequestStatus } from '@aegis/protocol';

export interface FlashRequestRow {
  id: string;
  user_id: string;
  job_id: string;
  status: FlashRequestStatus;
  created_at: number;
  updated_at: number;
}

/**
 * Flash requests and dashboard polls in the shared database (metadata only), so every API instance sees them.
 * The tables come from a migration (`db/migrations/1764000000002-flash-handoff.ts`).
 */
export class FlashHandoffStore {
  constructor(private readonly ds: DataSource) {}

  private get pg(): boolean {
    return this.ds.options.type === 'postgres';
  }

  /** `?` placeholders, numbered for PostgreSQL. */
  private q<T>(sql: string, params: unknown[] = []): Promise<T> {
    let n = 0;
    return this.ds.query(this.pg ? sql.replace(/\?/g, () => `$${++n}`) : sql, params) as Promise<T>;
  }

  private row(r: Record<string, unknown>): FlashRequestRow {
    return {
      id: String(r.id),
      user_id: String(r.user_id),
      job_id: String(r.job_id),
      status: String(r.status) as FlashRequestStatus,
      created_at: Number(r.created_at),
      updated_at: Number(r.updated_at),
    };
  }

  async insert(r: FlashRequestRow): Promise<void> {
    await this.q(
      'INSERT INTO flash_requests (id, user_id, job_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
      [r.id, r.user_id, r.job_id, r.status, r.created_at, r.updated_at],
    );
  }

  async get(userId: string, id: string): Promise<FlashRequestRow | undefined> {
    const rows = await this.q<Record<string, unknown>[]>('SELECT * FROM flash_requests WHERE id = ? AND user_id = ?', [
      id,
      userId,
    ]);
    return rows[0] ? this.row(rows[0]) : undefined;
  }

  async list(userId: string, status: FlashRequestStatus | undefined): Promise<FlashRequestRow[]> {
    const rows = status
      ? await this.q<Record<string, unknown>[]>(
          'SELECT * FROM flash_requests WHERE user_id = ? AND status = ? ORDER BY created_at DESC LIMIT 100',
          [userId, status],
        )
      : await this.q<Record<string, unknown>[]>(
          'SELECT * FROM flash_requests WHERE user_id = ? ORDER BY created_at DESC LIMIT 100',
          [userId],
        );
    return rows.map((r) => this.row(r));
  }

  /** Compare-and-set: moves `id` from one of `from` to `to`; false when it was not in such a state. */
  async transition(
    userId: string,
    id: string,
    from: FlashRequestStatus[],
    to: FlashRequestStatus,
    now: number,
  ): Promise<boolean> {
    const marks = from.map(() => '?').join(', ');
    const sql = `UPDATE flash_requests SET status = ?, updated_at = ? WHERE id = ? AND user_id = ? AND status IN (${marks})`;
    let n = 0;
    const numbered = this.pg ? sql.replace(/\?/g, () => `$${++n}`) : sql;
    const runner = this.ds.createQueryRunner();
    try {
      // The structured result reports the affected rows the same way on SQLite and PostgreSQL.
      const r = await runner.query(numbered, [to, now, id, userId, ...from], true);
      return (r.affected ?? 0) > 0;
    } finally {
      await runner.release();
    }
  }

  async expirePending(userId: string, olderThan: number, now: number): Promise<void> {
    await this.q(
      "UPDATE flash_requests SET status = 'expired', updated_at = ? WHERE user_id = ? AND status = 'pending' AND created_at < ?",
      [now, userId, olderThan],
    );
  }

  async recordPoll(userId: string, now: number): Promise<void> {
    await this.q(
      'INSERT INTO flash_dashboard_polls (user_id, polled_at) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET polled_at = excluded.polled_at',
      [userId, now],
    );
  }

  async lastPoll(userId: string): Promise<number | undefined> {
    const rows = await this.q<Array<{ polled_at: unknown }>>(
      'SELECT polled_at FROM flash_dashboard_polls WHERE user_id = ?',
      [userId],
    );
    return rows[0] ? Number(rows[0].polled_at) : undefined;
  }
}
