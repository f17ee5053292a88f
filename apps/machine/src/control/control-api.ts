import {
  AgentPollResponse,
  CandidateBody,
  ClaimResponse,
  ErrorBody,
  HeartbeatResponse,
  describeZodError,
  type AgentStateReport,
  type MachineHeartbeat,
} from '@aegis/protocol';
import { z } from 'zod';

/** What the agent needs from the control API; the HTTP client below and test fakes implement it. */
export interface ControlApi {
  register(body: MachineHeartbeat): Promise<HeartbeatResponse>;
  heartbeat(body: MachineHeartbeat): Promise<HeartbeatResponse>;
  /** Long-poll for jobs; resolves with an empty list when nothing came in `waitSecs`. */
  /** `free`: the machine's free build slots now (the API offers that many jobs, plus reattachments). */
  poll(waitSecs: number, signal?: AbortSignal, free?: number): Promise<AgentPollResponse>;
  /** `undefined` when another machine won the job (409). */
  claim(jobId: string): Promise<ClaimResponse | undefined>;
  answer(jobId: string, sdp: string): Promise<void>;
  candidate(jobId: string, c: CandidateBody): Promise<void>;
  reportState(jobId: string, report: AgentStateReport): Promise<void>;
  /** Trickled client candidates after `after` (seq). */
  clientCandidates(jobId: string, after: number): Promise<{ seq: number; candidate: CandidateBody }[]>;
}

/** The API could not be reached or failed (network, 5xx): retry with backoff. */
export class ApiUnavailableError extends Error {
  readonly code = 'api_unavailable';
}
/** The API refused the request (4xx other than 409 on claim): retrying the same request will not help. */
export class ApiRejectedError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface HttpControlApiOptions {
  baseUrl: string;
  /** `aegis_m_…`; only ever sent in the Authorization header. */
  token: string;
  fetch?: typeof fetch;
  /** Per-request timeout for non-poll calls (default 15 s). */
  timeoutMs?: number;
}

export class HttpControlApi implements ControlApi {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly opts: HttpControlApiOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? fetch;
  }

  register(body: MachineHeartbeat) {
    return this.json('POST', '/agents/register', body, HeartbeatResponse);
  }
  heartbeat(body: MachineHeartbeat) {
    return this.json('POST', '/agents/heartbeat', body, HeartbeatResponse);
  }
  poll(waitSecs: number, signal?: AbortSignal, free?: number) {
    const q = free === undefined ? '' : `&free=${free}`;
    return this.json('GET', `/agents/jobs?wait=${waitSecs}${q}`, undefined, AgentPollResponse, {
      signal,
      timeoutMs: (waitSecs + 15) * 1000,
    });
  }
  async claim(jobId: string) {
    try {
      return await this.json('POST', `/agents/jobs/${enc(jobId)}/claim`, {}, ClaimResponse);
    } catch (err) {
      if (err instanceof ApiRejectedError && (err.status === 409 || err.status === 404 || err.status === 410))
        return undefined;
      throw err;
    }
  }
  async answer(jobId: string, sdp: string) {
    await this.json('POST', `/agents/jobs/${enc(jobId)}/answer`, { type: 'answer', sdp });
  }
  async candidate(jobId: string, c: CandidateBody) {
    await this.json('POST', `/agents/jobs/${enc(jobId)}/candidate`, c);
  }
  async reportState(jobId: string, report: AgentStateReport) {
    await this.json('POST', `/agents/jobs/${enc(jobId)}/state`, report);
  }

  async clientCandidates(jobId: string, after: number) {
    const r = await this.json(
      'GET',
      `/agents/jobs/${enc(jobId)}/candidates?after=${after}`,
      undefined,
      CandidatesResponse,
    );
    return r.candidates;
  }

  private async json<S extends z.ZodType>(
    method: string,
    path: string,
    body?: unknown,
    schema?: S,
    o: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<z.infer<S>> {
    // One controller per request, unlinked afterwards: AbortSignal.any on a long-lived signal leaks listeners.
    const ac = new AbortController();
    const timer = setTimeout(
      () => ac.abort(new Error('request timed out')),
      o.timeoutMs ?? this.opts.timeoutMs ?? 15_000,
    );
    const onAbort = () => ac.abort(o.signal?.reason);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.send(method, path, body, schema, ac.signal);
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async send<S extends z.ZodType>(
    method: string,
    path: string,
    body: unknown,
    schema: S | undefined,
    signal: AbortSignal,
  ): Promise<z.infer<S>> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.opts.token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal,
      });
    } catch (err) {
      throw new ApiUnavailableError(
        `Cannot reach the control API (${(err as Error).name}: ${(err as Error).message}).`,
      );
    }
    const text = await res.text().catch(() => '');
    if (res.status >= 500 || res.status === 429)
      throw new ApiUnavailableError(`The control API answered ${res.status}.`);
    if (!res.ok) {
      let code = `http_${res.status}`;
      let message = `${method} ${path.split('?')[0]} was refused with HTTP ${res.status}.`;
      try {
        const raw = JSON.parse(text) as { error?: unknown };
        const e = ErrorBody.safeParse(raw).data ?? ErrorBody.safeParse(raw?.error).data;
        if (e) ({ code, message } = e);
      } catch {
        // not JSON
      }
      throw new ApiRejectedError(res.status, code, message);
    }
    if (!schema) return undefined as z.infer<S>;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new ApiUnavailableError(`The control API sent a non-JSON answer to ${method} ${path.split('?')[0]}.`);
    }
    const r = schema.safeParse(value);
    if (!r.success)
      throw new ApiUnavailableError(`The control API sent a malformed answer: ${describeZodError(r.error)}`);
    return r.data;
  }
}

const enc = encodeURIComponent;
const CandidatesResponse = z.object({
  candidates: z.array(z.object({ seq: z.number().int(), candidate: CandidateBody })),
});
