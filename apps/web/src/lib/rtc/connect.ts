import {
  fingerprintFromSdp,
  peekGrantClaims,
  waitOpen,
  wrapBrowserDataChannel,
  type Limits,
} from '@aegis/peer/browser';
import type { ChannelName, GrantRequest, IceServer, JobState } from '@aegis/protocol';
import { ApiError } from '../api';
import { openSignaling, postOffer, requestGrant } from './signaling';

/** Waits for the browser's channel to open (libs/peer's waitOpen on the wrapped channel). */
const opened = (dc: RTCDataChannel, timeoutMs = 20_000) => waitOpen(wrapBrowserDataChannel(dc), timeoutMs);

export interface MachineLink {
  jobId: string;
  machineName: string | null;
  machineId: string | null;
  /** The machine's public key for flash-bundle signatures, when the API sent it with `assigned`. */
  bundlePublicJwk: Record<string, unknown> | null;
  pc: RTCPeerConnection;
  /** The browser's data channels; libs/peer's clients take them through `wrapBrowserDataChannel`. */
  channels: Partial<Record<ChannelName, RTCDataChannel>>;
  /** The grant's send limits (bandwidth, message rate), for every client's LimitedSender. */
  limits: Limits;
  /**
   * Opens (once) a channel the grant names but the link did not open up front (`later`), e.g. `emulator` when the
   * user presses Run; rejects when the machine refuses it (closes it).
   */
  openChannel(name: ChannelName): Promise<RTCDataChannel>;
  close(): void;
}

export interface ConnectOptions {
  channels: ChannelName[];
  /**
   * Channels the grant also names, opened only on demand with `openChannel`: a machine that cannot serve one closes
   * it, which must not fail the whole link.
   */
  later?: ChannelName[];
  grant: Omit<GrantRequest, 'peer_fingerprint' | 'required_channels'>;
  /** Called as soon as the API answered with the job id (the history page can link to it). */
  onJob?: (jobId: string) => void;
  onState?: (state: JobState) => void;
  onProgress?: (step: string) => void;
  timeoutMs?: number;
}

function gathered(pc: RTCPeerConnection, maxMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, maxMs);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

/**
 * Opens the browser's own WebRTC link to a build machine: offer → grant (bound to our DTLS fingerprint) →
 * signaling through the API → data channels open. Only ICE servers the grant carries are used.
 */
export async function connectToMachine(opts: ConnectOptions): Promise<MachineLink> {
  const pc = new RTCPeerConnection({ iceServers: [] });
  const channels: MachineLink['channels'] = {};
  const create = (name: ChannelName) => {
    const dc = pc.createDataChannel(name, { ordered: true });
    dc.binaryType = 'arraybuffer';
    channels[name] = dc;
    return dc;
  };
  for (const name of opts.channels) create(name);
  const opening = new Map<ChannelName, Promise<RTCDataChannel>>();
  const openChannel = (name: ChannelName): Promise<RTCDataChannel> => {
    if (!opts.channels.includes(name) && !opts.later?.includes(name))
      return Promise.reject(new Error(`The ${name} channel was not asked for in this connection's grant.`));
    let p = opening.get(name);
    if (!p) {
      const had = channels[name];
      const dc = had && (had.readyState === 'open' || had.readyState === 'connecting') ? had : create(name);
      const open = opened(dc).then(() => dc);
      p = open;
      opening.set(name, open);
      // Closed (refused, or gone later): the next call opens a new data channel on the same connection.
      const forget = () => {
        if (opening.get(name) === open) opening.delete(name);
      };
      open.catch(forget);
      dc.addEventListener('close', forget);
    }
    return p;
  };
  let stopSignaling = () => {};
  const close = () => {
    stopSignaling();
    for (const dc of Object.values(channels)) dc?.close();
    pc.close();
  };
  try {
    opts.onProgress?.('Preparing a secure connection');
    const offer = await pc.createOffer();
    const fp = offer.sdp ? fingerprintFromSdp(offer.sdp) : undefined;
    if (!fp) throw new ApiError(0, 'no_fingerprint', 'This browser produced an offer without a DTLS fingerprint.');

    opts.onProgress?.('Requesting a grant');
    const grant = await requestGrant({
      ...opts.grant,
      peer_fingerprint: fp,
      required_channels: [...opts.channels, ...(opts.later ?? [])],
    });
    opts.onJob?.(grant.job_id);
    if (grant.ice_servers.length)
      pc.setConfiguration({ iceServers: grant.ice_servers as IceServer[] as RTCIceServer[] });

    const claims = peekGrantClaims(grant.grant);
    const link: MachineLink = {
      jobId: grant.job_id,
      machineName: null,
      machineId: null,
      bundlePublicJwk: null,
      pc,
      channels,
      limits: claims ? { maxBandwidthKbps: claims.max_bandwidth_kbps, maxMessageRate: claims.max_message_rate } : {},
      openChannel,
      close,
    };
    // The deadline runs until a machine answers, but not while the job waits its turn in the queue.
    const timeoutMs = opts.timeoutMs ?? 30_000;
    let queued = false;
    let deadline: ReturnType<typeof setTimeout> | undefined;
    let arm = (_on: boolean) => {};
    const timedOut = new Promise<never>((_, reject) => {
      arm = (on) => {
        clearTimeout(deadline);
        if (on)
          deadline = setTimeout(
            () =>
              reject(
                new ApiError(
                  0,
                  'no_answer',
                  `No build machine answered within ${timeoutMs / 1000} s; check the Machines page.`,
                ),
              ),
            timeoutMs,
          );
      };
    });
    const answered = new Promise<void>((resolve, reject) => {
      stopSignaling = openSignaling(
        grant.job_id,
        (ev) => {
          if (ev.type === 'assigned') {
            link.machineName = ev.machine_name;
            link.machineId = ev.machine_id;
            link.bundlePublicJwk = ev.bundle_public_jwk ?? null;
            opts.onProgress?.(`Assigned to ${ev.machine_name}`);
            queued = false;
            arm(true);
          } else if (ev.type === 'answer') {
            pc.setRemoteDescription({ type: 'answer', sdp: ev.sdp }).then(resolve, reject);
          } else if (ev.type === 'candidate') {
            pc.addIceCandidate(ev.candidate as RTCIceCandidateInit).catch(() => {});
          } else if (ev.type === 'state') {
            if (ev.state === 'pending' && ev.queue && !link.machineId) {
              queued = true;
              arm(false);
              const eta = ev.queue.estimate_secs;
              opts.onProgress?.(
                `Queued: position ${ev.queue.position}${eta !== null ? `, about ${eta < 90 ? `${eta} s` : `${Math.round(eta / 60)} min`}` : ''}`,
              );
            }
            opts.onState?.(ev.state);
          } else if (ev.type === 'error') {
            reject(new ApiError(0, ev.error.code, ev.error.message));
          }
        },
        (msg) => reject(new ApiError(0, 'signaling_closed', msg)),
      );
    });

    await pc.setLocalDescription(offer);
    await gathered(pc, 2000);
    opts.onProgress?.('Waiting for a build machine');
    await postOffer(grant.job_id, pc.localDescription?.sdp ?? offer.sdp ?? '');
    if (!queued) arm(true);
    try {
      await Promise.race([answered, timedOut]);
    } finally {
      clearTimeout(deadline);
    }
    opts.onProgress?.('Opening channels');
    await Promise.all(opts.channels.map((n) => opened(channels[n]!)));
    return link;
  } catch (e) {
    close();
    throw e;
  }
}
