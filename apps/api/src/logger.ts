import { pino, type Logger } from 'pino';

/** JSON logs on stdout. Never pass a key, token, grant or Authorization header to these. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { svc: 'api' },
    redact: { paths: ['authorization', 'headers.authorization', 'secret', 'token', 'grant', 'key'], remove: true },
  });
}
export const LOGGER = Symbol('LOGGER');
export type { Logger };
