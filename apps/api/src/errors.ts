import type { ErrorBody } from '@aegis/protocol';

/** An error a person can act on: HTTP status, stable code, one sentence. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  body(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

export const notFound = (what: string) => new AppError(404, 'not_found', `${what} does not exist or is not yours.`);
export const invalid = (message: string) => new AppError(400, 'invalid_input', message);
