import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/** The (ESP-IDF version, target) pairs each machine builds, as JSON text; '[]' until its next heartbeat. */
export class MachineBuilds1764000000010 implements MigrationInterface {
  name = 'MachineBuilds1764000000010';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('machines', new TableColumn({ name: 'builds', type: 'text', default: "'[]'" }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('machines', 'builds');
  }
}
