import { apiBaseUrl } from './api-url';

export interface Me {
  userId: string;
  name: string;
  isAdmin: boolean;
}

export type MeResult = { ok: true; me: Me } | { ok: false; status: number; code: string; message: string };

/** Asks the API who owns this key. The key goes only into the Authorization header. */
export async function fetchMe(apiKey: string, fetchImpl: typeof fetch = fetch): Promise<MeResult> {
  let res: Response;
  try {
    res = await fetchImpl(`${apiBaseUrl()}/me`, { headers: { authorization: `Bearer ${apiKey}` }, cache: 'no-store' });
  } catch {
    return {
      ok: false,
      status: 502,
      code: 'api_unreachable',
      message: 'The control API cannot be reached; check AEGIS_API_URL and that the API is running.',
    };
  }
  const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
  if (!res.ok || !body) {
    const err = (body?.error ?? body) as { code?: string; message?: string } | null;
    return {
      ok: false,
      status: res.status === 401 || res.status === 403 ? 401 : 502,
      code: err?.code ?? (res.status === 401 ? 'unauthorized' : 'api_error'),
      message:
        res.status === 401 || res.status === 403
          ? 'This API key was not accepted. Check that you copied the whole key (it starts with aegis_u_).'
          : (err?.message ?? `The API answered ${res.status}.`),
    };
  }
  const user = (body.user ?? body) as Record<string, unknown>;
  const id = String(user.id ?? user.user_id ?? '');
  const name = String(user.name ?? user.email ?? user.login ?? id);
  const isAdmin = user.is_admin === true || user.role === 'admin' || user.admin === true;
  return { ok: true, me: { userId: id, name, isAdmin } };
}
