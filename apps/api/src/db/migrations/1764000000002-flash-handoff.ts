import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The flash hand-off (metadata only): flash requests and each user's last dashboard poll.
 * `ifNotExist`: databases from before this migration already have these tables (they were created at start).
 */
export class FlashHandoff1764000000002 implements MigrationInterface {
  name = 'FlashHandoff1764000000002';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'flash_requests',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'user_id', type: 'varchar', length: '36' },
          { name: 'job_id', type: 'varchar', length: '36' },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
        indices: [new TableIndex({ name: 'ix_flash_requests_user_status', columnNames: ['user_id', 'status'] })],
      }),
      true,
    );
    await q.createTable(
      new Table({
        name: 'flash_dashboard_polls',
        columns: [
          { name: 'user_id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'polled_at', type: 'bigint' },
        ],
      }),
      true,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('flash_dashboard_polls');
    await q.dropTable('flash_requests');
  }
}
