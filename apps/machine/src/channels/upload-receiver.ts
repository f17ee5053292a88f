import { createHash, type Hash } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';

export class UploadError extends Error {
  constructor(
    readonly code: 'upload_too_large' | 'upload_sha256_mismatch' | 'upload_size_mismatch' | 'upload_not_started',
    message: string,
  ) {
    super(message);
  }
}

/** Collects the binary chunks of one upload into a file, checking the size as it goes and sha256 at the end. */
export class UploadReceiver {
  private received = 0;
  private readonly hash: Hash = createHash('sha256');
  private writes: Promise<unknown> = Promise.resolve();
  private failed?: UploadError;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly size: number,
    readonly sha256: string,
  ) {}

  static async begin(path: string, size: number, sha256: string, maxBytes: number): Promise<UploadReceiver> {
    if (size > maxBytes)
      throw new UploadError(
        'upload_too_large',
        `The project is ${size} bytes; this machine accepts at most ${maxBytes}. Leave build outputs out of the upload.`,
      );
    return new UploadReceiver(path, await open(path, 'w', 0o600), size, sha256);
  }

  /** Appends a chunk; once the size is exceeded the upload is marked failed and the rest is ignored. */
  chunk(data: Buffer): void {
    if (this.failed) return;
    if (this.received + data.length > this.size) {
      this.failed = new UploadError(
        'upload_size_mismatch',
        `More bytes arrived than the ${this.size} announced in upload.begin; start the upload again.`,
      );
      return;
    }
    this.received += data.length;
    this.hash.update(data);
    const copy = Buffer.from(data);
    this.writes = this.writes.then(() => this.fh.write(copy));
  }

  /** Waits for the file, checks size and sha256; the file stays at `path` for unpacking. */
  async end(): Promise<void> {
    await this.writes;
    await this.fh.close();
    if (this.failed) throw this.failed;
    if (this.received !== this.size)
      throw new UploadError(
        'upload_size_mismatch',
        `Only ${this.received} of ${this.size} bytes arrived; start the upload again.`,
      );
    const got = this.hash.digest('hex');
    if (got !== this.sha256)
      throw new UploadError(
        'upload_sha256_mismatch',
        'The uploaded project does not match its sha256; upload it again.',
      );
  }

  async discard(): Promise<void> {
    await this.writes.catch(() => undefined);
    await this.fh.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}
