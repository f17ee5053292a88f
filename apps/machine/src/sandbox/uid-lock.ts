import { chmodSync, mkdirSync, openSync, closeSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Host-wide claim on a sandbox uid (several machine processes, or test workers, may share a host): an O_EXCL lock
 * file holding the owner's pid. A lock whose owner is dead is taken over.
 */
export class UidLocks {
  constructor(private readonly dir: string) {
    // The parent (/run/aegis) also holds the sandbox's passwd files, which the sandbox user must reach.
    mkdirSync(path.dirname(dir), { recursive: true, mode: 0o755 });
    chmodSync(path.dirname(dir), 0o755);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private file(uid: number): string {
    return path.join(this.dir, `${uid}.lock`);
  }

  tryLock(uid: number): boolean {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.file(uid), 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        let owner: number;
        try {
          owner = Number(readFileSync(this.file(uid), 'utf8'));
        } catch {
          continue; // released meanwhile: try again
        }
        if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
        try {
          unlinkSync(this.file(uid));
        } catch {
          // someone else took it over first
        }
      }
    }
    return false;
  }

  unlock(uid: number): void {
    try {
      if (Number(readFileSync(this.file(uid), 'utf8')) === process.pid) unlinkSync(this.file(uid));
    } catch {
      // not ours or already gone
    }
  }
}
