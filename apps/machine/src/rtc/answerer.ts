import { RTCPeerConnection, type RTCDataChannel } from 'werift';
import type { CandidateBody, GrantClaims } from '@aegis/protocol';
import {
  iceGatheringComplete,
  isMdnsCandidate,
  rtcConfigFromIceServers,
  stripMdnsCandidates,
  withOwnCertificate,
  type RtcConfig,
} from '@aegis/peer';

/**
 * The werift answerer for one job: ICE servers from the grant only (werift's public STUN default is switched off
 * by rtcConfigFromIceServers), `.local` candidates dropped, vanilla ICE (the answer carries all candidates).
 */
export async function answerOffer(o: {
  claims: GrantClaims;
  offerSdp: string;
  candidates: CandidateBody[];
  /** Interface settings from the machine config (e.g. loopback-only in tests); its ICE servers are ignored. */
  base: RtcConfig;
  onDataChannel: (dc: RTCDataChannel) => void;
}): Promise<{ pc: RTCPeerConnection; answerSdp: string }> {
  const { iceServers: _ignored, ...base } = o.base;
  void _ignored;
  const pc = new RTCPeerConnection(await withOwnCertificate(rtcConfigFromIceServers(o.claims.ice_servers, base)));
  try {
    pc.onDataChannel.subscribe(o.onDataChannel);
    await pc.setRemoteDescription({ type: 'offer', sdp: stripMdnsCandidates(o.offerSdp) });
    for (const c of o.candidates)
      if (c.candidate && !isMdnsCandidate(c.candidate)) await pc.addIceCandidate(c).catch(() => undefined);
    await pc.setLocalDescription(await pc.createAnswer());
    await iceGatheringComplete(pc);
    return { pc, answerSdp: pc.localDescription!.sdp };
  } catch (err) {
    await pc.close().catch(() => undefined);
    throw err;
  }
}
