import { MeResponse, describeZodError } from '@aegis/protocol';
import { errorOf } from '../lib/api';
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
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const err = errorOf(body);
    return {
      ok: false,
      status: res.status === 401 || res.status === 403 ? 401 : 502,
      code: err.code ?? (res.status === 401 ? 'unauthorized' : 'api_error'),
      message:
        res.status === 401 || res.status === 403
          ? 'This API key was not accepted. Check that you copied the whole key (it starts with aegis_u_).'
          : (err.message ?? `The API answered ${res.status}.`),
    };
  }
  const r = MeResponse.safeParse(body);
  if (!r.success)
    return {
      ok: false,
      status: 502,
      code: 'bad_response',
      message: `The API's answer to GET /me does not match what this dashboard expects (${describeZodError(r.error)}); the dashboard and the API are probably different versions.`,
    };
  const { user } = r.data;
  return { ok: true, me: { userId: user.id, name: user.name, isAdmin: user.role === 'admin' } };
}
