import { type NextRequest } from 'next/server';
import { apiBaseUrl } from '@/server/api-url';
import { isProxyable } from '@/server/proxy-paths';
import { isCrossSite } from '@/server/same-origin';
import { SESSION_COOKIE, readSession } from '@/server/session';

export const dynamic = 'force-dynamic';

type Ctx = { params: Promise<{ path: string[] }> };

function error(status: number, code: string, message: string) {
  return Response.json({ error: { code, message } }, { status, headers: { 'cache-control': 'no-store' } });
}

/**
 * Same-origin proxy to the control API: the page never sees the API key; this handler adds it from the sealed
 * session cookie. Bodies and Server-Sent Events stream through untouched.
 */
async function proxy(req: NextRequest, ctx: Ctx): Promise<Response> {
  const { path } = await ctx.params;
  if (!isProxyable(path)) return error(404, 'not_found', 'There is no such API route for the dashboard.');
  if (req.method !== 'GET' && isCrossSite(req))
    return error(403, 'cross_site', 'This request did not come from the dashboard.');
  const session = await readSession();
  if (!session) return error(401, 'signed_out', 'Your session ended; sign in again.');

  const headers = new Headers({ authorization: `Bearer ${session.apiKey}` });
  for (const h of ['content-type', 'accept', 'last-event-id']) {
    const v = req.headers.get(h);
    if (v) headers.set(h, v);
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  let upstream: Response;
  try {
    upstream = await fetch(`${apiBaseUrl()}/${path.join('/')}${req.nextUrl.search}`, {
      method: req.method,
      headers,
      body: hasBody ? await req.arrayBuffer() : undefined,
      signal: req.signal,
      cache: 'no-store',
      redirect: 'manual',
    });
  } catch {
    return error(502, 'api_unreachable', 'The control API cannot be reached right now; try again in a moment.');
  }
  if (upstream.status === 401) {
    // The key was revoked or disabled since sign-in: end the session so the page asks for a new key.
    await upstream.body?.cancel();
    const res = error(401, 'signed_out', 'Your API key is no longer accepted (revoked or disabled); sign in again.');
    res.headers.append('set-cookie', `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict`);
    return res;
  }
  const out = new Headers({ 'cache-control': 'no-store' });
  for (const h of ['content-type', 'retry-after', 'x-request-id']) {
    const v = upstream.headers.get(h);
    if (v) out.set(h, v);
  }
  if (out.get('content-type')?.startsWith('text/event-stream')) out.set('x-accel-buffering', 'no');
  return new Response(upstream.body, { status: upstream.status, headers: out });
}

export const GET = proxy;
export const POST = proxy;
export const DELETE = proxy;
export const PUT = proxy;
