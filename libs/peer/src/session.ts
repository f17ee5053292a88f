import { RTCPeerConnection } from 'werift';
import {
  ChannelName,
  isTerminalJobState,
  type GrantClaims,
  type GrantRequest,
  type GrantResponse,
  type SignalingEvent,
} from '@aegis/protocol';
import { waitOpen } from './channel.js';
import { wrapDataChannel, type MessageChannelLike } from './werift-channel.js';
import { PeerError } from './errors.js';
import { EspctlClient } from './espctl-client.js';
import { FirmwareClient } from './firmware-client.js';
import { iceGatheringComplete } from './gather.js';
import { peekGrantClaims } from './grant-claims.js';
import type { Limits } from './limited-sender.js';
import { PtyClient } from './pty-client.js';
import { EmulatorClient } from './emulator-client.js';
import { withOwnCertificate } from './dtls-keys.js';
import { disableDefaultStun, rtcBaseFromEnv, rtcConfigFromIceServers, type RtcConfig } from './rtc-config.js';
import { fingerprintFromSdp, isMdnsCandidate } from './sdp.js';
import { SignalingClient } from './signaling-client.js';

export interface RemoteSessionOptions {
  baseUrl: string;
  /** The user's key (`aegis_u_…`). */
  apiKey: string;
  /** `peer_fingerprint` is filled in from the offer; `required_channels` defaults to all three. */
  request?: Omit<GrantRequest, 'peer_fingerprint' | 'required_channels'> & { required_channels?: ChannelName[] };
  /**
   * werift config. When absent: the grant's ICE servers only (host candidates when it has none), werift's public
   * STUN default switched off, and ICE bound to `AEGIS_RTC_INTERFACE` when that is set. Tests pass
   * `loopbackRtcConfig` (or set AEGIS_RTC_INTERFACE=127.0.0.1 for a process they spawn).
   */
  rtcConfig?: RtcConfig;
  /** Gives up when the channels are not open by then (default 20 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Signaling events as they arrive (for progress display). */
  onEvent?: (e: SignalingEvent) => void;
}

export interface RemoteSession {
  jobId: string;
  machineId: string;
  machineName: string;
  grant: GrantResponse;
  claims?: GrantClaims;
  espctl?: EspctlClient;
  firmware?: FirmwareClient;
  pty?: PtyClient;
  emulator?: EmulatorClient;
  pc: RTCPeerConnection;
  /** Milliseconds from the grant request to all channels open. */
  timings: { offerMs: number; grantToOpenMs: number };
  /** Job state changes seen on the signaling stream after the channels opened. */
  onJobState(cb: (state: string) => void): () => void;
  close(): Promise<void>;
}

/**
 * Starts a remote session: offer with the channels → fingerprint → grant → offer to the API → SSE for the
 * machine's answer → channels open.
 */
export async function startRemoteSession(opts: RemoteSessionOptions): Promise<RemoteSession> {
  disableDefaultStun();
  const t0 = performance.now();
  const channels = opts.request?.required_channels ?? ['espctl', 'firmware', 'pty'];
  const base = rtcBaseFromEnv();
  const pc = new RTCPeerConnection(await withOwnCertificate(opts.rtcConfig ?? rtcConfigFromIceServers([], base)));
  const abort = new AbortController();
  const stateListeners = new Set<(s: string) => void>();
  const close = async () => {
    abort.abort();
    await pc.close().catch(() => undefined);
  };
  try {
    const dcs = Object.fromEntries(
      channels.map((name) => [name, wrapDataChannel(pc.createDataChannel(name, { ordered: true }))]),
    ) as Partial<Record<ChannelName, MessageChannelLike>>;
    const offer = await pc.createOffer();
    const fingerprint = fingerprintFromSdp(offer.sdp);
    if (!fingerprint) throw new PeerError('no_fingerprint', 'The local offer has no DTLS fingerprint.');
    const offerMs = performance.now() - t0;

    const api = new SignalingClient({ baseUrl: opts.baseUrl, apiKey: opts.apiKey, fetch: opts.fetch });
    const tGrant = performance.now();
    const grant = await api.requestGrant({
      ...(opts.request ?? {}),
      peer_fingerprint: fingerprint,
      required_channels: channels,
    });
    const claims = peekGrantClaims(grant.grant);
    if (!opts.rtcConfig) pc.setConfiguration(rtcConfigFromIceServers(grant.ice_servers, base));
    await pc.setLocalDescription(offer);
    await iceGatheringComplete(pc);

    // Subscribe before posting the offer so no event is missed.
    const events = api.events(grant.job_id, abort.signal);
    const first = events.next();
    // Awaited only once the offer is posted; if that fails, close() aborts the stream and this must not go unhandled.
    first.catch(() => undefined);
    await api.postOffer(grant.job_id, pc.localDescription!.sdp);

    let machine: { id: string; name: string } | undefined;
    const connected = new Promise<void>((resolve, reject) => {
      const timeout = () =>
        setTimeout(
          () => reject(new PeerError('connect_timeout', 'No build machine answered in time; try again later.')),
          opts.timeoutMs ?? 20_000,
        );
      // While the job waits in the queue (pending, with its place) there is no deadline: the API ends a wait that
      // is too long. The deadline runs from the offer and again from the moment a machine takes the job.
      let timer = timeout();
      void (async () => {
        try {
          let next = await first;
          let opened = false;
          while (!next.done) {
            const e = next.value;
            opts.onEvent?.(e);
            if (e.type === 'assigned') {
              machine = { id: e.machine_id, name: e.machine_name };
              clearTimeout(timer);
              timer = timeout();
            } else if (e.type === 'state' && e.state === 'pending' && !machine) clearTimeout(timer);
            else if (e.type === 'answer') {
              await pc.setRemoteDescription({ type: 'answer', sdp: e.sdp });
              void Promise.all(Object.values(dcs).map((c) => waitOpen(c!, opts.timeoutMs ?? 20_000))).then(() => {
                opened = true;
                clearTimeout(timer);
                resolve();
              }, reject);
            } else if (e.type === 'candidate') {
              if (e.candidate.candidate && !isMdnsCandidate(e.candidate.candidate))
                await pc.addIceCandidate(e.candidate).catch(() => undefined);
            } else if (e.type === 'error') {
              if (!opened) reject(new PeerError(e.error.code, e.error.message, e.error.details));
            } else if (e.type === 'state') {
              for (const cb of stateListeners) cb(e.state);
              // The API sends the job's error right after a terminal state; give it a moment to arrive.
              if (!opened && isTerminalJobState(e.state))
                setTimeout(
                  () =>
                    reject(new PeerError(`job_${e.state}`, `The job ended (${e.state}) before the channels opened.`)),
                  500,
                );
            }
            next = await events.next();
          }
        } catch (err) {
          if (!abort.signal.aborted) reject(err as Error);
        }
      })();
    });
    await connected;
    const limits: Limits = claims
      ? { maxBandwidthKbps: claims.max_bandwidth_kbps, maxMessageRate: claims.max_message_rate }
      : {};
    return {
      jobId: grant.job_id,
      machineId: machine?.id ?? grant.candidates[0]?.machine_id ?? '',
      machineName: machine?.name ?? '',
      grant,
      claims,
      pc,
      espctl: dcs.espctl && new EspctlClient(dcs.espctl, limits),
      firmware: dcs.firmware && new FirmwareClient(dcs.firmware, limits),
      pty: dcs.pty && new PtyClient(dcs.pty, limits),
      emulator: dcs.emulator && new EmulatorClient(dcs.emulator, limits),
      timings: { offerMs, grantToOpenMs: performance.now() - tGrant },
      onJobState(cb) {
        stateListeners.add(cb);
        return () => stateListeners.delete(cb);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Reattaches to an earlier job of the same user (log replay from any seq, firmware download). */
export function attachToJob(
  opts: Omit<RemoteSessionOptions, 'request'> & {
    jobId: string;
    channels?: ChannelName[];
    request?: RemoteSessionOptions['request'];
  },
): Promise<RemoteSession> {
  return startRemoteSession({
    ...opts,
    request: {
      ...(opts.request ?? {}),
      attach_to_job_id: opts.jobId,
      required_channels: opts.channels ?? opts.request?.required_channels ?? ['espctl', 'firmware'],
    },
  });
}
