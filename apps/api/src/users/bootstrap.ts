import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { UsersService } from './users.service.js';

/**
 * First start with no users: create an admin and its key, print the key once (stderr, not the JSON log)
 * and write it to $AEGIS_DATA_DIR/admin-key (0600).
 */
export async function bootstrapAdmin(users: UsersService, cfg: Config, log: Logger): Promise<void> {
  if ((await users.countUsers()) > 0) return;
  let created;
  try {
    created = await users.createUser('admin', 'admin', cfg.bootstrapAdminKey);
  } catch (e) {
    // Another instance on the same database won the race.
    if ((await users.countUsers()) > 0) return;
    throw e;
  }
  fs.mkdirSync(cfg.dataDir, { recursive: true });
  const file = path.join(cfg.dataDir, 'admin-key');
  fs.writeFileSync(file, created.secret + '\n', { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  log.info({ user_id: created.user.id, file }, 'created the first admin; its key was written to the file');
  if (!cfg.bootstrapAdminKey) process.stderr.write(`\nFirst admin API key (shown once): ${created.secret}\n\n`);
}
