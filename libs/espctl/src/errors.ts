import type { ErrorBody } from '@aegis/protocol';

/** An error a person can act on: a stable code and one sentence. Thrown inside espctl, shown at the edges. */
export class EspctlError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'EspctlError';
  }

  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** Any thrown value as an error body; unexpected errors keep their message but get a generic code. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof EspctlError) return err.toBody();
  if (err instanceof Error) {
    // Errors of our other libraries (PeerError, AppError…) also carry a string code.
    const code = (err as { code?: unknown }).code;
    return {
      code: typeof code === 'string' && code ? code : 'internal_error',
      message: err.message || 'Unexpected error.',
    };
  }
  return { code: 'internal_error', message: String(err) };
}
