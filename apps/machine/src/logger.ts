import { pino, type Logger } from 'pino';

/** JSON logs on stderr; anything that could hold a secret is redacted by path. */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { app: 'aegis-machine' },
      redact: {
        paths: ['token', 'grant', 'authorization', '*.token', '*.grant', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}
