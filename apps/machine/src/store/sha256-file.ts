import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** sha256 of a file's contents (symlinks followed), as lowercase hex. */
export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}
