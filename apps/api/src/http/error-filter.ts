import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';

/** Every error leaves as ErrorBody {code, message}. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) {
      res.end();
      return;
    }
    if (err instanceof AppError) {
      for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
      res.status(err.status).json(err.body());
      return;
    }
    if (err instanceof HttpException) {
      const status = err.getStatus();
      const code =
        status === 404
          ? 'not_found'
          : status === 400
            ? 'invalid_input'
            : status === 413
              ? 'too_large'
              : `http_${status}`;
      const message =
        status === 404 ? 'No such route.' : status === 400 ? 'The request body is not valid JSON.' : err.message;
      res.status(status).json({ code, message });
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    // body-parser errors (malformed JSON, too large) arrive as plain errors with a status.
    if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      const code = e.type === 'entity.too.large' ? 'too_large' : 'invalid_input';
      const message =
        e.type === 'entity.parse.failed' ? 'The request body is not valid JSON.' : (e.message ?? 'Bad request.');
      res.status(e.status).json({ code, message });
      return;
    }
    this.log.error({ err: { message: e?.message, stack: (err as Error)?.stack } }, 'unhandled error');
    res.status(500).json({ code: 'internal', message: 'Something went wrong on the server; try again.' });
  }
}
