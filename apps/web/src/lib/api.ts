/** Browser-side calls to the control API, always through the same-origin proxy (the key stays on the server). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const API_PREFIX = '/api/aegis';

export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, ...rest } = init;
  const res = await fetch(`${API_PREFIX}/${path.replace(/^\/+/, '')}`, {
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
    throw new ApiError(res.status, err.code ?? `http_${res.status}`, err.message ?? `The API answered ${res.status}.`);
  }
  return body as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Accepts `{error:{code,message}}`, `{code,message}` and Nest's `{statusCode,message}` bodies. */
export function errorOf(body: unknown): { code?: string; message?: string } {
  if (!body || typeof body !== 'object') return { message: typeof body === 'string' ? body.slice(0, 300) : undefined };
  const b = body as Record<string, unknown>;
  const inner = (b.error && typeof b.error === 'object' ? b.error : b) as Record<string, unknown>;
  const msg = Array.isArray(inner.message) ? inner.message.join('; ') : inner.message;
  return {
    code: typeof inner.code === 'string' ? inner.code : undefined,
    message: typeof msg === 'string' ? msg : undefined,
  };
}

/** Lists come as a bare array or wrapped (`{jobs:[…]}`, `{items:[…]}`); take whichever array is there. */
export function listOf<T>(body: unknown, key: string): T[] {
  if (Array.isArray(body)) return body as T[];
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    for (const k of [key, 'items', 'data']) if (Array.isArray(b[k])) return b[k] as T[];
  }
  return [];
}
