import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { AddressPolicy } from './private-address.js';

/**
 * Why a delivery did not get an HTTP answer. The message is the same for every refused address and for every
 * network failure, so a delivery's result cannot be used to map which hosts and ports exist behind the API.
 */
export class DeliveryError extends Error {
  constructor(readonly refused: boolean) {
    super(
      refused
        ? "The receiver's address is not allowed (loopback, private, link-local, multicast or this host's own); nothing was sent."
        : 'The receiver could not be reached or did not answer in time.',
    );
  }
}

export interface DeliverOptions {
  policy: AddressPolicy;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** At most this much of a receiver's answer is read (and thrown away). */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POST `body` to `url` and return the HTTP status. The host name is resolved ONCE, the address checked, and the
 * connection made to exactly that address (a pinned `lookup`), so a DNS answer that changes between check and
 * connect (rebinding) cannot redirect the request. Redirects are not followed. One deadline covers it all.
 */
export async function deliver(
  url: string,
  body: string,
  headers: Record<string, string>,
  o: DeliverOptions,
): Promise<number> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  let addrs: { address: string; family: number }[];
  try {
    addrs = literal ? [{ address: host, family: literal }] : await o.policy.resolve(host);
  } catch {
    throw new DeliveryError(false);
  }
  const pinned = addrs.find((a) => !o.policy.refuses(a.address));
  if (!pinned) throw new DeliveryError(true);

  const pin: LookupFunction = (_name, opts, cb) => {
    if ((opts as { all?: boolean }).all) (cb as (e: null, a: typeof addrs) => void)(null, [pinned]);
    else cb(null, pinned.address, pinned.family);
  };
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    let done = false;
    const finish = (e: Error | null, status?: number) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      o.signal?.removeEventListener('abort', onAbort);
      if (e) reject(e);
      else resolve(status!);
    };
    const rq = mod.request(
      {
        // A literal address is connected to as is; a name goes through the pinned lookup only.
        host: literal ? host : u.hostname,
        port: u.port || (u.protocol === 'https:' ? 443 : 80),
        path: `${u.pathname}${u.search}`,
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        lookup: pin,
        agent: false,
        ...(u.protocol === 'https:' && !literal ? { servername: host } : {}),
      },
      (rs) => {
        let seen = 0;
        rs.on('data', (c: Buffer) => {
          seen += c.length;
          if (seen > MAX_RESPONSE_BYTES) rs.destroy();
        });
        rs.on('close', () => finish(null, rs.statusCode ?? 0));
        rs.on('error', () => finish(null, rs.statusCode ?? 0));
      },
    );
    const fail = () => {
      rq.destroy();
      finish(new DeliveryError(false));
    };
    const deadline = setTimeout(fail, o.timeoutMs);
    const onAbort = fail;
    o.signal?.addEventListener('abort', onAbort);
    rq.on('error', () => finish(new DeliveryError(false)));
    rq.end(body);
  });
}
