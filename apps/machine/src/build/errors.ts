import type { ErrorBody } from '@aegis/protocol';

/** A failure a person can act on: a stable code and one sentence. Thrown inside the backend, returned as a value. */
export class BackendError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'BackendError';
  }

  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function toErrorBody(err: unknown, fallbackCode = 'internal'): ErrorBody {
  if (err instanceof BackendError) return err.toBody();
  const message = err instanceof Error ? err.message : String(err);
  return { code: fallbackCode, message: message || 'Unexpected error in the build backend.' };
}
