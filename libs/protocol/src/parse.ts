import type { z } from 'zod';

/** One-line description of what is wrong with an input, for error messages. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: { code: 'invalid_input'; message: string } };

/** Parse at a boundary: never throws, always says what was wrong. */
export function parseAt<S extends z.ZodType>(schema: S, input: unknown, what: string): ParseResult<z.infer<S>> {
  const r = schema.safeParse(input);
  return r.success
    ? { ok: true, value: r.data }
    : { ok: false, error: { code: 'invalid_input', message: `${what} is invalid: ${describeZodError(r.error)}` } };
}
