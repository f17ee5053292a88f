import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The queue (issue 14): when a machine deleted a job's results (retention), and indexes for the queue's look
 * at pending jobs in age order and at the turns users had since.
 */
export class JobQueue1764000000014 implements MigrationInterface {
  name = 'JobQueue1764000000014';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('jobs', new TableColumn({ name: 'results_expired_at', type: 'bigint', isNullable: true }));
    await q.createIndex(
      'jobs',
      new TableIndex({ name: 'ix_jobs_state_created', columnNames: ['state', 'created_at'] }),
    );
    await q.createIndex('jobs', new TableIndex({ name: 'ix_jobs_assigned', columnNames: ['assigned_at'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('jobs', 'ix_jobs_assigned');
    await q.dropIndex('jobs', 'ix_jobs_state_created');
    await q.dropColumn('jobs', 'results_expired_at');
  }
}
