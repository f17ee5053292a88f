import type { PeerConfig } from 'werift';

// Types only from werift: the espctl CLI reads these at startup without loading werift.

export type RtcConfig = Partial<PeerConfig>;

/**
 * The loopback-only config for tests (notes, Q1): a dead loopback STUN and a 50 ms gather timeout defeat
 * werift's built-in Google STUN fallback; no interface enumeration; host candidate 127.0.0.1 only.
 */
export const loopbackRtcConfig: RtcConfig = Object.freeze({
  iceServers: [{ urls: 'stun:127.0.0.1:3478' }],
  iceStunGatherTimeout: 0.05,
  iceUseIpv4: false,
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ['127.0.0.1'],
  iceInterfaceAddresses: { udp4: '127.0.0.1' },
}) as RtcConfig;

/** Bind ICE to one IPv4 address only (e.g. 127.0.0.1 in tests, or the host's LAN address). */
export function interfaceRtcConfig(ipv4: string): RtcConfig {
  return {
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: [ipv4],
    iceInterfaceAddresses: { udp4: ipv4 },
  };
}

/** `AEGIS_RTC_INTERFACE=<ipv4>` binds every libs/peer connection of this process to that address. */
export function rtcBaseFromEnv(env: NodeJS.ProcessEnv = process.env): RtcConfig {
  const ip = env.AEGIS_RTC_INTERFACE;
  return ip && /^\d{1,3}(\.\d{1,3}){3}$/.test(ip) ? interfaceRtcConfig(ip) : {};
}
