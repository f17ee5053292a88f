import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

/** The grant rate limit shared by all API instances: one GCRA arrival time per user (see grants/grant-rate.ts). */
export class GrantRate1764000000003 implements MigrationInterface {
  name = 'GrantRate1764000000003';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'grant_rate',
        columns: [
          { name: 'user_id', type: 'varchar', length: '36', isPrimary: true },
          // Epoch ms with a fraction (the interval is 60 000 / rate); a double holds it to well below 1 µs.
          { name: 'tat', type: 'double precision' },
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('grant_rate');
  }
}
