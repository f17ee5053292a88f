/**
 * Refuses state-changing requests that a different site made the browser send. SameSite=Strict already keeps
 * the cookie off cross-site requests; this is the second lock. Requests without an Origin (curl, same-origin
 * GET) pass, since they carry no cookie set by a browser on another site.
 */
export function isCrossSite(req: Request): boolean {
  const origin = req.headers.get('origin');
  if (!origin) return req.headers.get('sec-fetch-site') === 'cross-site';
  const host = req.headers.get('x-forwarded-host') ?? req.headers.get('host');
  try {
    return new URL(origin).host !== host;
  } catch {
    return true;
  }
}

/** True when the browser reached us over https, directly or through a TLS-terminating proxy. */
export function isHttps(req: Request): boolean {
  const fwd = req.headers.get('x-forwarded-proto');
  if (fwd) return fwd.split(',')[0].trim() === 'https';
  return new URL(req.url).protocol === 'https:';
}
