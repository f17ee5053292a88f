import {
  ErrorBody,
  GrantResponse,
  SignalingEvent,
  describeZodError,
  type CandidateBody,
  type GrantRequest,
} from '@aegis/protocol';
import { PeerError } from './errors.js';
import { readSse } from './sse.js';

export interface SignalingClientOptions {
  baseUrl: string;
  /** The user's key (`aegis_u_…`). Sent only in the Authorization header, never in a URL. */
  apiKey: string;
  fetch?: typeof fetch;
}

/** The client's half of the control API: grant request, offer/candidates, and the SSE event stream. */
export class SignalingClient {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly opts: SignalingClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? fetch;
  }

  async requestGrant(req: GrantRequest): Promise<GrantResponse> {
    const body = await this.post('/grant/request', req);
    const r = GrantResponse.safeParse(body);
    if (!r.success)
      throw new PeerError('bad_response', `The control API sent a malformed grant: ${describeZodError(r.error)}`);
    return r.data;
  }

  async postOffer(jobId: string, sdp: string): Promise<void> {
    await this.post(`/signaling/${encodeURIComponent(jobId)}/offer`, { type: 'offer', sdp });
  }

  async postCandidate(jobId: string, candidate: CandidateBody): Promise<void> {
    await this.post(`/signaling/${encodeURIComponent(jobId)}/candidate`, candidate);
  }

  /** Follows the job's signaling events until the signal aborts or the server ends the stream. */
  async *events(jobId: string, signal?: AbortSignal, lastEventId?: string): AsyncGenerator<SignalingEvent> {
    const res = await this.fetchFn(`${this.base}/signaling/${encodeURIComponent(jobId)}/events`, {
      headers: {
        authorization: `Bearer ${this.opts.apiKey}`,
        accept: 'text/event-stream',
        ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
      },
      signal,
    });
    if (!res.ok || !res.body) throw await httpError(res, 'GET /signaling/…/events');
    for await (const msg of readSse(res.body, signal)) {
      let data: unknown;
      try {
        data = JSON.parse(msg.data);
      } catch {
        continue; // comments/keep-alives
      }
      const r = SignalingEvent.safeParse(data);
      if (r.success) yield r.data;
    }
  }

  private async post(path: string, body: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.opts.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (err) {
      throw new PeerError(
        'api_unreachable',
        `Cannot reach the control API at ${this.base} (${(err as Error).message}); check CONTROL_BASE_URL and the network.`,
      );
    }
    if (!res.ok) throw await httpError(res, `POST ${path}`);
    const text = await res.text();
    return text ? (JSON.parse(text) as unknown) : undefined;
  }
}

async function httpError(res: Response, what: string): Promise<PeerError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  // Nest wraps errors in various ways; accept ErrorBody at the top level or under `error`.
  const candidates = [body, (body as { error?: unknown } | undefined)?.error];
  for (const c of candidates) {
    const r = ErrorBody.safeParse(c);
    if (r.success) return new PeerError(r.data.code, r.data.message, { status: res.status, details: r.data.details });
  }
  return new PeerError(`http_${res.status}`, `${what} failed with HTTP ${res.status}.`, { status: res.status });
}
