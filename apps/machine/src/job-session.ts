import type { RTCPeerConnection } from 'werift';
import { ChannelName, type ClaimResponse, type GrantClaims } from '@aegis/protocol';
import {
  LimitedSender,
  isMdnsCandidate,
  waitOpen,
  wrapDataChannel,
  type MessageChannelLike,
  type RtcConfig,
} from '@aegis/peer';
import type { Logger } from 'pino';
import type { BuildBackend } from './build/backend.js';
import { serveEspctl } from './channels/espctl-handler.js';
import { serveFirmware } from './channels/firmware-handler.js';
import { servePty } from './channels/pty-handler.js';
import { serveEmulator, type EmulatorService } from './emulator/index.js';
import { ApiRejectedError, type ControlApi } from './control/control-api.js';
import type { StateReporter } from './control/state-reporter.js';
import { verifyGrant, type GrantVerifierDeps } from './grants/grant-verifier.js';
import type { BuildJob } from './jobs/build-job.js';
import type { JobRegistry } from './jobs/job-registry.js';
import { answerOffer } from './rtc/answerer.js';

export interface SessionDeps {
  api: ControlApi;
  reporter: StateReporter;
  verifier: GrantVerifierDeps;
  registry: JobRegistry;
  backend: BuildBackend;
  rtcBase: RtcConfig;
  log: Logger;
  maxUploadBytes: number;
  /** The machine's emulators (the `emulator` channel); without it the channel is refused. */
  emulators?: EmulatorService;
  /** A build started or ended: the agent tells the API its free slots right away. */
  onCapacityChange?: () => void;
  /** Build slots not held by any build (a rebuild in an open session needs one). */
  freeSlots?: () => number;
  /** How long a client has to connect after the answer (default 30 s). */
  connectTimeoutMs?: number;
}

/** Live sessions by job id (for heartbeats). */
export const liveSessions = new Set<string>();

/**
 * One claimed job from grant check to the end of its connection. Resolves when the client is gone; a build it
 * started keeps running in the registry.
 */
export async function runJobSession(deps: SessionDeps, claimed: ClaimResponse): Promise<void> {
  const jobId = claimed.job_id;
  const log = deps.log.child({ jobId });
  const verdict = await verifyGrant(deps.verifier, { grant: claimed.grant, jobId, offerSdp: claimed.offer.sdp });
  if (!verdict.ok) {
    log.warn({ code: verdict.refusal.code }, 'grant refused');
    await deps.reporter.report(jobId, { state: 'failed', error: verdict.refusal });
    return;
  }
  const claims = verdict.claims;
  let job: BuildJob;
  if (claims.kind === 'attach') {
    const target = claims.attach_to_job_id ? deps.registry.get(claims.attach_to_job_id) : undefined;
    if (!target || target.userId !== claims.sub) {
      await deps.reporter.report(jobId, {
        state: 'failed',
        error: {
          code: 'attach_not_found',
          message:
            'This machine no longer holds the results of that job (they are kept for a limited time); run the build again.',
        },
      });
      return;
    }
    job = target;
  } else {
    job = await deps.registry.create({ id: jobId, userId: claims.sub, params: claims.params });
    watchBuildState(job, deps.reporter);
    job.onStatus((st) => {
      if (st.state !== 'running') deps.onCapacityChange?.();
    });
  }

  if (deps.emulators) {
    const emulators = deps.emulators;
    await emulators.ready();
    job.emulates = (t) => emulators.emulates(t);
  }
  liveSessions.add(jobId);
  job.attached++;
  // Ends what this session runs beyond its channels' own close (the emulator) when the peer connection goes.
  const sessionEnd = new AbortController();
  deps.registry.touch(job.id);
  let pc: RTCPeerConnection | undefined;
  try {
    const opened: Promise<void>[] = [];
    const answered = await answerOffer({
      claims,
      offerSdp: claimed.offer.sdp,
      candidates: claimed.candidates,
      base: deps.rtcBase,
      onDataChannel: (dc) => {
        const ch = wrapDataChannel(dc);
        if (!attachChannel(deps, claims, job, ch, log, sessionEnd.signal)) {
          log.info({ label: dc.label }, 'channel refused');
          // Close right after werift has acknowledged the open; closing inside this callback makes werift drop
          // the ACK and fail on the client side.
          setImmediate(() => dc.close());
        } else opened.push(waitOpen(ch).catch(() => undefined));
      },
    });
    pc = answered.pc;
    await deps.api.answer(jobId, answered.answerSdp);
    // The API says the client left before connecting (its page closed): end now, the slot is free at once.
    const clientGone = new AbortController();
    void followClientCandidates(deps.api, jobId, answered.pc, log, clientGone);
    if (claims.kind === 'attach') void deps.reporter.report(jobId, { state: 'running' });
    await waitForEnd(pc, deps.connectTimeoutMs ?? 30_000, clientGone.signal);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'session failed');
  } finally {
    sessionEnd.abort();
    await pc?.close().catch(() => undefined);
    job.attached--;
    liveSessions.delete(jobId);
    deps.registry.touch(job.id);
    if (claims.kind === 'attach') void deps.reporter.report(jobId, { state: 'succeeded' });
    else if (!job.buildStarted && job.state === 'assigned') {
      job.setState('canceled', {
        error: { code: 'client_left', message: 'The client disconnected before starting a build.' },
      });
    }
    log.info('session ended');
  }
}

/** Opens the handler for a channel the grant allows; false = close it (not granted or no handler). */
function attachChannel(
  deps: SessionDeps,
  claims: GrantClaims,
  job: BuildJob,
  ch: MessageChannelLike,
  log: Logger,
  sessionEnd: AbortSignal,
): boolean {
  const name = ChannelName.safeParse(ch.label);
  if (!name.success || !claims.channels.includes(name.data)) return false;
  const sender = new LimitedSender(ch, {
    maxBandwidthKbps: claims.max_bandwidth_kbps,
    maxMessageRate: claims.max_message_rate,
  });
  const readOnly = claims.kind === 'attach';
  const freeSlots = deps.freeSlots;
  const clog = log.child({ channel: name.data });
  switch (name.data) {
    case 'espctl':
      serveEspctl({
        job,
        backend: deps.backend,
        channel: ch,
        sender,
        log: clog,
        maxUploadBytes: deps.maxUploadBytes,
        readOnly,
        onBuildStarted: deps.onCapacityChange,
        slotFree: freeSlots && (() => freeSlots() > 0),
      });
      return true;
    case 'firmware':
      serveFirmware({ job, channel: ch, sender, log: clog });
      return true;
    case 'pty':
      if (readOnly) return false;
      servePty({ job, backend: deps.backend, channel: ch, sender, log: clog });
      return true;
    case 'emulator':
      // Read-only towards the job (it runs a copy of the firmware), so attach grants may use it too.
      if (!deps.emulators) return false;
      serveEmulator({ job, service: deps.emulators, channel: ch, sender, log: clog, signal: sessionEnd });
      return true;
  }
}

/** Reports build states to the API (metadata only): running, then the first outcome with exit code and sizes. */
function watchBuildState(job: BuildJob, reporter: StateReporter): void {
  // The API's job row ends at its first outcome; later rebuilds in the same session stay on the machine.
  let ended = false;
  job.onStatus((s) => {
    if (ended) return;
    if (s.state === 'running') void reporter.report(job.id, { state: 'running' });
    else if (s.state === 'succeeded' || s.state === 'failed' || s.state === 'canceled') {
      ended = true;
      void reporter.report(job.id, {
        state: s.state,
        ...(s.exit_code !== undefined ? { exit_code: s.exit_code } : {}),
        ...(s.error ? { error: s.error } : {}),
        ...(job.outcome?.sizes ? { sizes: job.outcome.sizes } : {}),
      });
    }
  });
}

/**
 * Adds candidates the client trickles after its offer (browsers do), until connected (or the session ends). The
 * same poll hears when the API knows the client is gone (`client_left`): then `gone` is aborted.
 */
async function followClientCandidates(
  api: ControlApi,
  jobId: string,
  pc: RTCPeerConnection,
  log: Logger,
  gone: AbortController,
) {
  let after = 0;
  while (pc.connectionState !== 'connected' && pc.connectionState !== 'closed' && !gone.signal.aborted) {
    try {
      for (const { seq, candidate } of await api.clientCandidates(jobId, after)) {
        after = Math.max(after, seq);
        if (candidate.candidate && !isMdnsCandidate(candidate.candidate))
          await pc.addIceCandidate(candidate).catch(() => undefined);
      }
    } catch (err) {
      if (err instanceof ApiRejectedError && err.code === 'client_left') {
        log.info('the client left before connecting; giving up the job');
        gone.abort();
        return;
      }
      log.debug({ err: (err as Error).message }, 'candidate poll failed');
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * Resolves when the peer connection closes or fails, or never connects within `connectTimeoutMs`, or `clientGone`
 * aborts before it connected.
 */
function waitForEnd(pc: RTCPeerConnection, connectTimeoutMs: number, clientGone?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let connected = false;
    clientGone?.addEventListener('abort', () => {
      if (!connected) done();
    });
    let disconnectTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      if (!connected) done();
    }, connectTimeoutMs);
    const { unSubscribe } = pc.connectionStateChange.subscribe((s) => {
      if (s === 'connected') {
        connected = true;
        if (disconnectTimer) clearTimeout(disconnectTimer);
      } else if (s === 'closed' || s === 'failed') done();
      // "disconnected" may recover; give it a few seconds.
      else if (s === 'disconnected') disconnectTimer = setTimeout(done, 5000);
    });
    pc.sctpTransport?.sctp.stateChanged.closed.subscribe(() => done());
    function done() {
      clearTimeout(timer);
      if (disconnectTimer) clearTimeout(disconnectTimer);
      unSubscribe();
      resolve();
    }
  });
}
