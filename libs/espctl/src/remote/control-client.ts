import type { Jwk } from '../flash/serial-tools.js';
import { HealthResponse, JobView, MachineListResponse, MeResponse, type Target } from '@aegis/protocol';
import { EspctlError } from '../errors.js';
import type { ControlProbe } from '../mcp/context.js';
import type { StoreCatalog } from '../store/store-catalog.js';

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

/** Plain http is refused (the key would travel in clear) unless the host is loopback and the user opted in. */
export function checkBaseUrl(raw: string, env: NodeJS.ProcessEnv = process.env): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new EspctlError('config_invalid', `"${raw}" is not a URL; expected e.g. https://aegis.example.com.`);
  }
  if (u.username || u.password)
    throw new EspctlError('config_invalid', 'Put the key in MCP_AUTH_SECRET or espctl login, never in the URL.');
  if (u.protocol === 'http:' && env.ESPCTL_ALLOW_INSECURE !== '1') {
    throw new EspctlError(
      'insecure_url',
      `Refusing plain http (${u.origin}): the API key would travel unencrypted. Use https, or set ESPCTL_ALLOW_INSECURE=1 for local testing.`,
    );
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new EspctlError('config_invalid', `Unsupported URL scheme ${u.protocol}.`);
  return u;
}

/** A failed fetch as a sentence: which API, and why (the cause's code, e.g. ECONNREFUSED). */
export function unreachable(baseUrl: string, err: unknown): EspctlError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
  return new EspctlError(
    'control_unreachable',
    `The control API at ${baseUrl} is not reachable (${why}); check CONTROL_BASE_URL / espctl login and the network.`,
  );
}

/** The few REST calls espctl makes itself (grants and signaling are libs/peer's). */
export class ControlClient {
  constructor(
    readonly baseUrl: string,
    private readonly key: string,
    private readonly fetchFn: FetchLike = fetch,
  ) {}

  private url(p: string): string {
    return this.baseUrl.replace(/\/+$/, '') + p;
  }

  async get(p: string, auth = true): Promise<Response> {
    return this.fetchFn(this.url(p), {
      headers: auth
        ? { authorization: `Bearer ${this.key}`, accept: 'application/json' }
        : { accept: 'application/json' },
      signal: AbortSignal.timeout(10_000),
    }).catch((err: unknown) => {
      throw unreachable(this.baseUrl, err);
    });
  }

  async post(p: string, body: unknown = {}): Promise<Response> {
    return this.fetchFn(this.url(p), {
      method: 'POST',
      headers: { authorization: `Bearer ${this.key}`, accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    }).catch((err: unknown) => {
      throw unreachable(this.baseUrl, err);
    });
  }

  async json<T>(
    p: string,
    schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  ): Promise<T> {
    const res = await this.get(p);
    if (res.status === 401 || res.status === 403)
      throw new EspctlError('key_rejected', 'The control API refused the key; run espctl login again.');
    if (!res.ok) throw new EspctlError('control_error', `The control API answered ${res.status} to GET ${p}.`);
    const r = schema.safeParse(await res.json());
    if (!r.success) throw new EspctlError('control_error', `The control API sent an unexpected answer to GET ${p}.`);
    return r.data;
  }

  /** IDF versions and targets of the online machines. */
  async catalog(): Promise<StoreCatalog> {
    const { machines } = await this.json('/machines', MachineListResponse);
    const byVersion = new Map<string, Set<Target>>();
    for (const m of machines) {
      for (const v of m.idf_versions) {
        const s = byVersion.get(v) ?? new Set<Target>();
        m.targets.forEach((t) => s.add(t));
        byVersion.set(v, s);
      }
    }
    return {
      source: 'control-api',
      location: this.baseUrl,
      versions: [...byVersion].map(([version, targets], i) => ({
        version,
        default: i === 0,
        targets: [...targets],
      })),
    };
  }

  /**
   * The public key the machine that built a bundle signs with (GET /machines), found from the manifest's
   * machine_id or, failing that, its job's machine (GET /jobs/{id}).
   */
  async bundleKey(ref: { machine_id?: string; job_id?: string }): Promise<Jwk | undefined> {
    let machineId = ref.machine_id;
    if (!machineId && ref.job_id) {
      const job = await this.json(`/jobs/${encodeURIComponent(ref.job_id)}`, JobView);
      machineId = job.machine_id ?? undefined;
    }
    if (!machineId) return undefined;
    const { machines } = await this.json('/machines', MachineListResponse);
    return (machines.find((m) => m.id === machineId)?.bundle_public_jwk ?? undefined) as Jwk | undefined;
  }

  async probe(now: () => number = Date.now): Promise<ControlProbe> {
    let health: Response;
    const sent = now();
    try {
      health = await this.get('/health', false);
    } catch (err) {
      return {
        reachable: false,
        keyAccepted: undefined,
        clockSkewMs: undefined,
        detail: `${this.baseUrl} is not reachable: ${(err as Error).message}`,
      };
    }
    const received = now();
    let skew: number | undefined;
    try {
      const h = HealthResponse.parse(await health.json());
      skew = Date.parse(h.time) - (sent + received) / 2;
    } catch {
      const d = health.headers.get('date');
      skew = d ? Date.parse(d) - received : undefined;
    }
    let keyAccepted: boolean | undefined;
    try {
      await this.json('/me', MeResponse);
      keyAccepted = true;
    } catch {
      keyAccepted = false;
    }
    return {
      reachable: true,
      keyAccepted,
      clockSkewMs: skew,
      detail: `${this.baseUrl} answered /health with ${health.status}.`,
    };
  }
}
