import { NextResponse, type NextRequest } from 'next/server';
import { fetchMe } from '@/server/me';
import { isCrossSite, isHttps } from '@/server/same-origin';
import { SESSION_COOKIE, SESSION_TTL_SECS, publicUser, readSession } from '@/server/session';
import { seal } from '@/server/session-seal';
import { sealKey } from '@/server/web-secret';

export const dynamic = 'force-dynamic';

const KEY_RE = /^aegis_u_[A-Za-z0-9_-]{8,200}$/;

function error(status: number, code: string, message: string) {
  return NextResponse.json({ error: { code, message } }, { status, headers: { 'cache-control': 'no-store' } });
}

/** Who is signed in (never the key). */
export async function GET() {
  const s = await readSession();
  if (!s) return error(401, 'signed_out', 'You are not signed in.');
  return NextResponse.json(publicUser(s), { headers: { 'cache-control': 'no-store' } });
}

/** Sign in: verify the key against the API, then keep it only inside a sealed httpOnly cookie. */
export async function POST(req: NextRequest) {
  if (isCrossSite(req)) return error(403, 'cross_site', 'Sign-in must come from this dashboard.');
  const body = (await req.json().catch(() => null)) as { apiKey?: unknown } | null;
  const apiKey = typeof body?.apiKey === 'string' ? body.apiKey.trim() : '';
  if (!KEY_RE.test(apiKey))
    return error(400, 'bad_key_format', 'An Aegis user API key starts with aegis_u_ followed by letters and digits.');
  const me = await fetchMe(apiKey);
  if (!me.ok) return error(me.status, me.code, me.message);
  const exp = Math.floor(Date.now() / 1000) + SESSION_TTL_SECS;
  const value = await seal(await sealKey(), { apiKey, ...me.me, exp });
  const res = NextResponse.json(publicUser({ apiKey, ...me.me, exp }), { headers: { 'cache-control': 'no-store' } });
  res.cookies.set(SESSION_COOKIE, value, {
    httpOnly: true,
    sameSite: 'strict',
    secure: isHttps(req),
    path: '/',
    maxAge: SESSION_TTL_SECS,
  });
  return res;
}

/** Sign out: drop the cookie. */
export async function DELETE(req: NextRequest) {
  if (isCrossSite(req)) return error(403, 'cross_site', 'Sign-out must come from this dashboard.');
  const res = new NextResponse(null, { status: 204 });
  res.cookies.set(SESSION_COOKIE, '', {
    httpOnly: true,
    sameSite: 'strict',
    secure: isHttps(req),
    path: '/',
    maxAge: 0,
  });
  return res;
}
