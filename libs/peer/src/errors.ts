/** An error as a value: stable `code` and a sentence a person can act on. */
export class PeerError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'PeerError';
  }
}
