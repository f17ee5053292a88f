import { ErrorBody, describeZodError } from '@aegis/protocol';

/**
 * Browser-side calls to the control API, always through the same-origin proxy (the key stays on the server).
 * Every answer is parsed with the libs/protocol schema of its route: a mismatch is an ApiSchemaError that names the
 * route and the field, shown by the page like any other error, never a half-read object.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The API answered, but not in the shape libs/protocol describes for this route. */
export class ApiSchemaError extends ApiError {
  constructor(
    readonly route: string,
    readonly issues: string,
  ) {
    super(
      200,
      'bad_response',
      `The API's answer to ${route} does not match what this dashboard expects (${issues}). ` +
        'The dashboard and the API are probably different versions; reload the page, and if it persists, tell the operator.',
    );
    this.name = 'ApiSchemaError';
  }
}

export const API_PREFIX = '/api/aegis';

/** A zod schema, as far as parsing needs it (keeps zod itself out of the dashboard's dependencies). */
export interface Schema<T> {
  safeParse(
    input: unknown,
  ): { success: true; data: T } | { success: false; error: Parameters<typeof describeZodError>[0] };
}

type Init = Omit<RequestInit, 'body'> & { json?: unknown; body?: BodyInit };

/** Calls `path` and parses the answer with `schema` (from libs/protocol). */
export async function api<T>(path: string, schema: Schema<T>, init: Init = {}): Promise<T> {
  const { route, body } = await request(path, init);
  return parseAnswer(route, schema, body);
}

/** Calls `path` for its effect only (the answer's body, if any, is not read further). */
export async function apiSend(path: string, init: Init = {}): Promise<void> {
  await request(path, init);
}

/** Parses an answer `body` of `route` with `schema`; exported for tests and for answers read another way. */
export function parseAnswer<T>(route: string, schema: Schema<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new ApiSchemaError(route, describeZodError(r.error));
  return r.data;
}

async function request(path: string, init: Init): Promise<{ route: string; body: unknown }> {
  const { json, ...rest } = init;
  const clean = path.replace(/^\/+/, '');
  const route = `${rest.method ?? 'GET'} /${clean.split('?')[0]}`;
  const res = await fetch(`${API_PREFIX}/${clean}`, {
    ...rest,
    headers: { accept: 'application/json', ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: json !== undefined ? JSON.stringify(json) : rest.body,
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const text = await res.text();
  const body: unknown = text ? safeJson(text) : null;
  if (!res.ok) {
    const err = errorOf(body);
    if (res.status === 401 && typeof window !== 'undefined' && err.code === 'signed_out')
      window.location.assign('/signin');
    throw new ApiError(
      res.status,
      err.code ?? `http_${res.status}`,
      err.message ?? `${route} failed with HTTP ${res.status}.`,
    );
  }
  return { route, body };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The error of a failed call, parsed with libs/protocol's ErrorBody: the API sends it at the top level or under
 * `error`; anything else (a proxy's or Nest's own `{statusCode, message}` page) gives its message only.
 */
export function errorOf(body: unknown): { code?: string; message?: string } {
  for (const candidate of [body, (body as { error?: unknown } | null)?.error]) {
    const r = ErrorBody.safeParse(candidate);
    if (r.success) return { code: r.data.code, message: r.data.message };
  }
  if (typeof body === 'string') return { message: body.slice(0, 300) };
  const msg = (body as { message?: unknown } | null)?.message;
  if (typeof msg === 'string') return { message: msg };
  if (Array.isArray(msg) && msg.every((m) => typeof m === 'string')) return { message: msg.join('; ') };
  return {};
}
