import { hostname } from 'node:os';
import type { MachineHeartbeat } from '@aegis/protocol';
import { PROTOCOL_VERSION } from '@aegis/protocol';
import { peekGrantClaims, type RtcConfig } from '@aegis/peer';
import type { Logger } from 'pino';
import type { BuildBackend } from './build/backend.js';
import { Backoff, sleep } from './control/backoff.js';
import { ApiRejectedError, type ControlApi } from './control/control-api.js';
import { Heartbeat } from './control/heartbeat.js';
import { StateReporter } from './control/state-reporter.js';
import type { TrustedKeys } from './grants/trusted-keys.js';
import { ReplayCache } from './grants/replay-cache.js';
import { JobRegistry } from './jobs/job-registry.js';
import { liveSessions, runJobSession } from './job-session.js';
import { EmulatorService, emulatorHostOf } from './emulator/index.js';
import { workspaceOpsOf } from './workspace/index.js';

export const AGENT_VERSION = '0.1.0';

export interface AgentOptions {
  api: ControlApi;
  backend: BuildBackend;
  keys: TrustedKeys;
  log: Logger;
  name?: string;
  slots: number;
  cores: number;
  memoryMb: number;
  workDir: string;
  /** Results are kept this long after their last use (default 7 days)… */
  retentionMs: number;
  /** …and the oldest go first while all results together exceed this many bytes (default 20 GiB). */
  resultsDiskCapBytes?: number;
  issuers: string[];
  maxUploadBytes: number;
  rtcBase?: RtcConfig;
  pollWaitSecs?: number;
  now?: () => number;
}

/**
 * The agent: register, then long-poll for jobs, claim what fits, run each job session; heartbeats beside it.
 * When the API is down it backs off with jitter and keeps running builds going.
 */
export class Agent {
  readonly registry: JobRegistry;
  readonly backend: BuildBackend;
  readonly reporter: StateReporter;
  /** QEMU runs of finished jobs (the `emulator` channel), at most `slots` at a time. */
  readonly emulators: EmulatorService;
  private readonly replay = new ReplayCache();
  private readonly abort = new AbortController();
  /** Stops taking jobs only (drain); `abort` stops everything. */
  private readonly pollAbort = new AbortController();
  private heartbeat?: Heartbeat;
  private loop?: Promise<void>;
  private readonly sessions = new Set<Promise<void>>();
  /**
   * Build jobs claimed (or about to be) whose session has not put them in the registry yet: they hold a slot from
   * before the claim is sent, so two offers in one poll answer can never both take the last slot.
   */
  private readonly reserved = new Set<string>();
  /** The poll in flight and the free-slot count it told the API; a change of capacity ends it early. */
  private poll?: { ctl: AbortController; free: number };
  /** Results deleted by retention, to be told to the API (kept until a heartbeat carrying them succeeded). */
  private readonly expired = new Set<string>();
  private expiredSent: string[] = [];
  machineId?: string;

  constructor(private readonly o: AgentOptions) {
    this.backend = o.backend;
    this.registry = new JobRegistry(o.workDir, o.retentionMs, o.now, workspaceOpsOf(o.backend), {
      diskCapBytes: o.resultsDiskCapBytes,
    });
    this.reporter = new StateReporter(o.api, o.log);
    this.emulators = new EmulatorService(emulatorHostOf(o.backend), { slots: o.slots });
  }

  async start(): Promise<void> {
    // Workspaces of an earlier run of this machine: their jobs are gone for good.
    await this.registry.sweepStale().catch((err: Error) => this.o.log.warn({ err: err.message }, 'stale sweep failed'));
    const inv = await this.o.backend.inventory();
    this.o.log.info({ idfVersions: inv.idfVersions, targets: inv.targets }, 'store inventory');
    const backoff = new Backoff();
    for (;;) {
      if (this.abort.signal.aborted) return;
      try {
        const r = await this.o.api.register(await this.heartbeatBody());
        this.machineId = r.machine_id;
        this.o.log.info({ machineId: r.machine_id }, 'registered with the control API');
        this.checkSkew(r.server_time);
        this.heartbeat = new Heartbeat(
          this.o.api,
          () => this.heartbeatBody(),
          (hr) => this.onHeartbeat(hr),
          this.o.log,
        );
        this.heartbeat.start(r.heartbeat_interval_secs);
        break;
      } catch (err) {
        if (err instanceof ApiRejectedError && (err.status === 401 || err.status === 403))
          this.o.log.error({ code: err.code }, 'the control API refused the machine token; check AEGIS_MACHINE_TOKEN');
        else this.o.log.warn({ err: (err as Error).message }, 'cannot register yet; retrying');
        await sleep(backoff.next(), this.abort.signal);
      }
    }
    this.registry.startSweeping(undefined, (gone) => {
      for (const id of gone) this.expired.add(id);
      if (gone.length) this.heartbeat?.kick();
    });
    this.loop = this.pollLoop();
  }

  /**
   * Graceful stop: take no new jobs, let running builds and sessions finish (heartbeats continue so the API does
   * not fail them), up to `graceMs`; then stop.
   */
  async drain(graceMs: number): Promise<void> {
    this.pollAbort.abort();
    await this.loop;
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, graceMs).unref())]);
    await this.stop();
    // Unmounts the jobs' quota filesystems too; what a crash leaves behind, the next start sweeps.
    await this.registry.removeAll();
  }

  async stop(): Promise<void> {
    this.pollAbort.abort();
    this.abort.abort();
    this.emulators.stopAll();
    this.registry.stopSweeping();
    await this.heartbeat?.stop();
    await this.loop;
    this.reporter.stop();
  }

  /** Resolves when every session and build has ended (for tests and graceful shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.sessions]);
    await Promise.all(this.registry.all().map((j) => j.settled()));
  }

  /** Slots not held by a build: claimed-but-not-started jobs and running builds hold one; nothing else does. */
  freeSlots(): number {
    const held = new Set(this.registry.active().map((j) => j.id));
    for (const id of this.reserved) if (!this.registry.get(id)) held.add(id);
    return Math.max(0, this.o.slots - held.size);
  }

  /**
   * A build started or ended, a claim was lost, a session ended: tell the API at once — a heartbeat now (for
   * placement and status) and a fresh long-poll carrying the new free-slot count (so waiting jobs come now).
   */
  private capacityChanged(): void {
    this.heartbeat?.kick();
    const p = this.poll;
    if (p && p.free !== this.freeSlots()) p.ctl.abort();
  }

  private async pollLoop(): Promise<void> {
    const backoff = new Backoff();
    const stopped = () => this.abort.signal.aborted || this.pollAbort.signal.aborted;
    while (!stopped()) {
      const ctl = new AbortController();
      const onStop = () => ctl.abort();
      this.pollAbort.signal.addEventListener('abort', onStop, { once: true });
      const poll = (this.poll = { ctl, free: this.freeSlots() });
      this.o.log.debug({ free: poll.free }, 'polling for jobs');
      try {
        const r = await this.o.api.poll(this.o.pollWaitSecs ?? 25, ctl.signal, poll.free);
        if (stopped()) return;
        backoff.reset();
        for (const offer of r.jobs) {
          const attach = peekGrantClaims(offer.grant)?.kind === 'attach';
          if (!attach) {
            // Take the slot before the claim goes out: the registry only learns of the job later.
            if (this.freeSlots() === 0) continue;
            this.reserved.add(offer.job_id);
          }
          const claimed = await this.o.api.claim(offer.job_id).catch((err: Error) => {
            this.reserved.delete(offer.job_id);
            throw err;
          });
          if (!claimed) {
            this.reserved.delete(offer.job_id);
            continue;
          }
          this.o.log.debug({ jobId: offer.job_id }, 'claimed');
          const s = runJobSession(
            {
              api: this.o.api,
              reporter: this.reporter,
              verifier: {
                keys: this.o.keys,
                replay: this.replay,
                now: this.o.now ?? Date.now,
                issuers: this.o.issuers,
              },
              registry: this.registry,
              backend: this.o.backend,
              rtcBase: this.o.rtcBase ?? {},
              log: this.o.log,
              maxUploadBytes: this.o.maxUploadBytes,
              emulators: this.emulators,
              onCapacityChange: () => this.capacityChanged(),
              freeSlots: () => this.freeSlots(),
            },
            claimed,
          ).catch((err: Error) => this.o.log.error({ err: err.message, jobId: offer.job_id }, 'job session crashed'));
          this.sessions.add(s);
          this.heartbeat?.kick();
          void s.finally(() => {
            this.sessions.delete(s);
            this.reserved.delete(offer.job_id);
            this.capacityChanged();
          });
        }
      } catch (err) {
        if (stopped()) return;
        // Ended on purpose because the free-slot count changed: poll again at once.
        if (ctl.signal.aborted) continue;
        const wait = backoff.next();
        this.o.log.warn({ err: (err as Error).message, retryInMs: wait }, 'poll failed; backing off');
        await sleep(wait, this.pollAbort.signal);
      } finally {
        this.pollAbort.signal.removeEventListener('abort', onStop);
        if (this.poll === poll) this.poll = undefined;
      }
    }
  }

  private onHeartbeat(r: { cancel_job_ids: string[]; server_time: string }): void {
    for (const id of this.expiredSent) this.expired.delete(id);
    this.expiredSent = [];
    for (const id of r.cancel_job_ids) {
      const job = this.registry.get(id);
      this.emulators.stopAll(id);
      if (job?.isBuilding) {
        this.o.log.info({ jobId: id }, 'owner canceled the job');
        job.cancel();
      }
    }
  }

  private checkSkew(serverTime: string): void {
    const skew = Math.abs(Date.parse(serverTime) - Date.now());
    if (skew > 5000)
      this.o.log.warn(
        { skewMs: skew },
        'this machine’s clock differs from the API’s; grants may be refused as expired',
      );
  }

  private async heartbeatBody(): Promise<MachineHeartbeat> {
    let inv: Awaited<ReturnType<BuildBackend['inventory']>> = { idfVersions: [], targets: [] };
    try {
      inv = await this.o.backend.inventory();
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, 'store inventory failed');
    }
    // The backend may sign flash bundles; its public key lets clients verify them.
    const withKey = this.o.backend as BuildBackend & { bundlePublicJwk?: () => Record<string, unknown> };
    const jwk = typeof withKey.bundlePublicJwk === 'function' ? withKey.bundlePublicJwk() : undefined;
    const running = new Set<string>([...liveSessions, ...this.reporter.pendingJobIds(), ...this.reserved]);
    this.expiredSent = [...this.expired].slice(0, 1024);
    for (const j of this.registry.active()) running.add(j.id);
    return {
      v: PROTOCOL_VERSION,
      name: this.o.name ?? hostname(),
      agent_version: AGENT_VERSION,
      capacity: {
        total_slots: this.o.slots,
        free_slots: this.freeSlots(),
        cpu_cores: this.o.cores,
        memory_mb: this.o.memoryMb,
      },
      idf_versions: inv.idfVersions,
      targets: inv.targets,
      builds: inv.builds ?? inv.idfVersions.flatMap((v) => inv.targets.map((t) => ({ idf_version: v, target: t }))),
      running_job_ids: [...running].slice(0, 256),
      expired_job_ids: this.expiredSent,
      ...(jwk ? { bundle_public_jwk: jwk } : {}),
    };
  }
}
