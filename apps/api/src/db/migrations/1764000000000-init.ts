import { Table, TableIndex, type MigrationInterface, type QueryRunner, type TableColumnOptions } from 'typeorm';

/** Portable column helpers: the Table API emits the right DDL for SQLite and PostgreSQL alike. */
const id = (name = 'id'): TableColumnOptions => ({ name, type: 'varchar', length: '36', isPrimary: true });
const ref = (name: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: '36',
  isNullable: nullable,
});
const str = (name: string, length: number, nullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: String(length),
  isNullable: nullable,
});
const text = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable });
const ms = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'bigint', isNullable: nullable });
const int = (name: string, nullable = false, dflt?: number): TableColumnOptions => ({
  name,
  type: 'integer',
  isNullable: nullable,
  ...(dflt === undefined ? {} : { default: dflt }),
});

export class Init1764000000000 implements MigrationInterface {
  name = 'Init1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'users',
        columns: [id(), str('name', 128), str('role', 16), int('disabled', false, 0), ms('created_at')],
      }),
    );
    await q.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          id(),
          ref('user_id'),
          str('name', 128),
          str('prefix', 32),
          str('hash', 64),
          ms('created_at'),
          ms('last_used_at', true),
          ms('revoked_at', true),
        ],
        indices: [
          new TableIndex({ name: 'ix_api_keys_hash', columnNames: ['hash'], isUnique: true }),
          new TableIndex({ name: 'ix_api_keys_user', columnNames: ['user_id'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'machines',
        columns: [
          id(),
          str('name', 128),
          str('token_hash', 64),
          str('agent_version', 64, true),
          text('capacity', true),
          text('idf_versions'),
          text('targets'),
          text('bundle_public_jwk', true),
          ms('last_seen_at', true),
          ms('created_at'),
        ],
        indices: [new TableIndex({ name: 'ix_machines_token', columnNames: ['token_hash'], isUnique: true })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'jobs',
        columns: [
          id(),
          ref('user_id'),
          str('kind', 16),
          ref('parent_job_id', true),
          ref('pinned_machine_id', true),
          ref('machine_id', true),
          str('state', 16),
          int('priority'),
          text('params'),
          text('channels'),
          text('grant_jws'),
          text('offer', true),
          ms('offered_at', true),
          ms('expires_at'),
          text('error', true),
          int('exit_code', true),
          text('sizes', true),
          int('cancel_requested', false, 0),
          ms('created_at'),
          ms('assigned_at', true),
          ms('started_at', true),
          ms('finished_at', true),
        ],
        indices: [
          new TableIndex({ name: 'ix_jobs_state', columnNames: ['state', 'offered_at'] }),
          new TableIndex({ name: 'ix_jobs_user', columnNames: ['user_id', 'created_at'] }),
          new TableIndex({ name: 'ix_jobs_machine', columnNames: ['machine_id', 'state'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'signaling_events',
        columns: [
          { name: 'seq', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          ref('job_id'),
          str('audience', 8),
          str('type', 16),
          text('payload'),
          ms('created_at'),
          ms('expires_at'),
        ],
        indices: [
          new TableIndex({ name: 'ix_sig_job', columnNames: ['job_id', 'seq'] }),
          new TableIndex({ name: 'ix_sig_expires', columnNames: ['expires_at'] }),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'signing_keys',
        columns: [
          { ...str('kid', 64), isPrimary: true },
          text('public_jwk'),
          text('private_jwk'),
          ms('created_at'),
          ms('retired_at', true),
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'webhooks',
        columns: [
          id(),
          ref('user_id'),
          text('url'),
          text('events'),
          str('secret', 128),
          ms('created_at'),
          ms('deleted_at', true),
        ],
        indices: [new TableIndex({ name: 'ix_webhooks_user', columnNames: ['user_id'] })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'webhook_deliveries',
        columns: [
          id(),
          ref('webhook_id'),
          str('event', 32),
          ref('job_id'),
          text('payload'),
          str('status', 16),
          int('attempts', false, 0),
          int('last_status_code', true),
          text('last_error', true),
          ms('next_attempt_at', true),
          ms('locked_until', true),
          ms('created_at'),
          ms('delivered_at', true),
        ],
        indices: [
          new TableIndex({ name: 'ix_deliveries_due', columnNames: ['status', 'next_attempt_at'] }),
          new TableIndex({ name: 'ix_deliveries_webhook', columnNames: ['webhook_id', 'created_at'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'webhook_deliveries',
      'webhooks',
      'signing_keys',
      'signaling_events',
      'jobs',
      'machines',
      'api_keys',
      'users',
    ]) {
      await q.dropTable(t);
    }
  }
}
