import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/** O(1) quota checks: a per-user, per-UTC-day grant counter, and an index for counting jobs in flight. */
export class Usage1764000000001 implements MigrationInterface {
  name = 'Usage1764000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'user_daily_usage',
        columns: [
          { name: 'user_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'day', type: 'varchar', length: '10', isPrimary: true },
          { name: 'jobs', type: 'integer', default: 0 },
        ],
      }),
    );
    await q.createIndex('jobs', new TableIndex({ name: 'ix_jobs_user_state', columnNames: ['user_id', 'state'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('jobs', 'ix_jobs_user_state');
    await q.dropTable('user_daily_usage');
  }
}
