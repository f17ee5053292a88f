export type FlashErrorCode =
  | 'bad_manifest'
  | 'bad_signature'
  | 'sha256_mismatch'
  | 'missing_file'
  | 'overlapping_parts'
  | 'unaligned_part'
  | 'part_beyond_flash'
  | 'wrong_chip'
  | 'secure_download_mode'
  | 'port_busy'
  | 'no_sync'
  | 'bad_reset_sequence'
  | 'verify_failed'
  | 'flash_failed'
  | 'aborted';

/** A refusal or failure: a stable code and one sentence a person can act on. */
export class FlashError extends Error {
  readonly code: FlashErrorCode;
  /** True when nothing was written to the board (every refusal before the first write). */
  readonly nothingWritten: boolean;
  constructor(code: FlashErrorCode, message: string, nothingWritten = true) {
    super(message);
    this.name = 'FlashError';
    this.code = code;
    this.nothingWritten = nothingWritten;
  }
}

/** Chromium: NetworkError "Failed to open serial port." when another program/tab holds it; InvalidStateError when open. */
export function isPortBusyError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  return (
    e.name === 'InvalidStateError' ||
    (e.name === 'NetworkError' && /open/i.test(e.message)) ||
    /failed to open serial port|resource busy|access denied|port is already open/i.test(e.message)
  );
}

export function portBusy(): FlashError {
  return new FlashError(
    'port_busy',
    'The serial port is in use by another program or browser tab (a serial monitor, another flasher); close it there and try again.',
  );
}
