import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * When a job's client closed its last signaling stream (null while one is open, or never opened): a queued job
 * whose client stays away past a short grace is canceled, and its machine gives up a claim not yet connected.
 */
export class ClientLeft1764000000015 implements MigrationInterface {
  name = 'ClientLeft1764000000015';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('jobs', new TableColumn({ name: 'client_left_at', type: 'bigint', isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('jobs', 'client_left_at');
  }
}
