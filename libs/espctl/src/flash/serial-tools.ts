/** A public JSON Web Key (the build machine's bundle-signing key). */
export type Jwk = Record<string, unknown>;

/** A flash bundle as read from disk or the firmware channel (what libs/flasher checks and writes). */
export interface FlashBundleFiles {
  /** The exact bytes of manifest.json. */
  manifestBytes: Uint8Array;
  /** manifest.jws, when the bundle has one. */
  jws?: string;
  /** Bundle-relative path (as in the manifest) → bytes. */
  files: Map<string, Uint8Array>;
}

export interface FlashRunResult {
  chip: string;
  bytes_written: number;
  sectors_written: number;
  verified: boolean;
  /** `verified`: checked against the build machine's key; `unchecked`: no key was available (sha256 still checked). */
  signature: 'verified' | 'unchecked';
  parts: Array<{ name: string; offset: number; size: number; mode: string }>;
}

/** Local serial flashing and monitoring (stdio only). The real one wraps Node serialport for libs/flasher. */
export interface SerialTools {
  flash(opts: {
    port: string;
    baud: number;
    /** Rewrite every sector instead of only the changed ones. */
    erase: boolean;
    bundle: FlashBundleFiles;
    /** The build machine's public key; absent → the signature is not checked. */
    publicJwk?: Jwk;
    timeoutMs: number;
    onProgress?: (written: number, total: number) => void;
  }): Promise<FlashRunResult>;
  monitor(opts: {
    port: string;
    baud: number;
    durationMs: number;
    maxBytes: number;
  }): Promise<{ text: string; bytes: number; truncated: boolean }>;
}
