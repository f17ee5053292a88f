import { stat } from 'node:fs/promises';
import path from 'node:path';
import { BackendError } from '../build/errors.js';

/**
 * bubblewrap runs as the unprivileged sandbox uid, so it must be able to walk to every directory it binds.
 * Checks each ancestor for search permission and says which one blocks, instead of a bwrap error later.
 */
export async function assertReachable(dir: string, uid: number, what: string): Promise<void> {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  let cur = '/';
  for (const part of ['', ...parts]) {
    cur = part ? path.join(cur, part) : cur;
    const st = await stat(cur).catch(() => undefined);
    if (!st) throw new BackendError('sandbox_path_missing', `The ${what} ${dir} does not exist.`);
    const ok = st.uid === uid ? (st.mode & 0o100) !== 0 : (st.mode & 0o001) !== 0;
    if (!ok) {
      throw new BackendError(
        'sandbox_path_unreachable',
        `The sandbox user (uid ${uid}) cannot reach the ${what} ${dir} because ${cur} is not searchable by others; ` +
          `move the ${what} out of ${cur} (private directories such as the data dir .aegis must stay closed to other users).`,
      );
    }
  }
}
