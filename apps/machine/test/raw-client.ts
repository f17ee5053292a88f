import { RTCPeerConnection, type RTCDataChannel } from 'werift';
import type { ChannelName, ErrorBody } from '@aegis/protocol';
import {
  SignalingClient,
  withOwnCertificate,
  fingerprintFromSdp,
  iceGatheringComplete,
  loopbackRtcConfig,
} from '@aegis/peer';

/**
 * A hand-driven client for probing the machine: it can create channels the grant does not name, or post an offer
 * whose fingerprint differs from the one in the grant.
 */
export async function rawConnect(o: {
  baseUrl: string;
  apiKey: string;
  grantChannels: ChannelName[];
  createChannels: string[];
  /** Ask the grant for this peer's fingerprint instead of ours. */
  fingerprintOf?: RTCPeerConnection;
  timeoutMs?: number;
}): Promise<{
  pc: RTCPeerConnection;
  channels: Record<string, RTCDataChannel>;
  jobId: string;
  error?: ErrorBody;
  close(): Promise<void>;
}> {
  const pc = new RTCPeerConnection(await withOwnCertificate(loopbackRtcConfig));
  const channels = Object.fromEntries(o.createChannels.map((n) => [n, pc.createDataChannel(n, { ordered: true })]));
  await pc.setLocalDescription(await pc.createOffer());
  await iceGatheringComplete(pc);
  let fpSdp = pc.localDescription!.sdp;
  if (o.fingerprintOf) {
    if (!o.fingerprintOf.localDescription)
      await o.fingerprintOf.setLocalDescription(await o.fingerprintOf.createOffer());
    fpSdp = o.fingerprintOf.localDescription!.sdp;
  }
  const sc = new SignalingClient({ baseUrl: o.baseUrl, apiKey: o.apiKey });
  const grant = await sc.requestGrant({
    peer_fingerprint: fingerprintFromSdp(fpSdp)!,
    required_channels: o.grantChannels,
  });
  const abort = new AbortController();
  const events = sc.events(grant.job_id, abort.signal);
  const first = events.next();
  await sc.postOffer(grant.job_id, pc.localDescription!.sdp);
  const close = async () => {
    abort.abort();
    await pc.close().catch(() => undefined);
  };
  const timer = setTimeout(() => abort.abort(), o.timeoutMs ?? 15_000);
  try {
    let next = await first;
    while (!next.done) {
      const e = next.value;
      if (e.type === 'error') return { pc, channels, jobId: grant.job_id, error: e.error, close };
      if (e.type === 'answer') {
        await pc.setRemoteDescription({ type: 'answer', sdp: e.sdp });
        await new Promise<void>((resolve) => {
          if (pc.connectionState === 'connected') return resolve();
          pc.connectionStateChange.subscribe((s) => s === 'connected' && resolve());
        });
        return { pc, channels, jobId: grant.job_id, close };
      }
      next = await events.next();
    }
    throw new Error('signaling ended without an answer');
  } finally {
    clearTimeout(timer);
  }
}

export function waitState(dc: RTCDataChannel, state: 'open' | 'closed', timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    if (dc.readyState === state) return resolve(true);
    const t = setTimeout(() => resolve(false), timeoutMs);
    dc.stateChanged.subscribe((s) => {
      if (s === state) {
        clearTimeout(t);
        resolve(true);
      }
    });
  });
}
