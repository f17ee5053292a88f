import { Connection, type PeerConfig } from 'werift';
import type { IceServer } from '@aegis/protocol';

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

let patched = false;

/**
 * werift's ICE `Connection.applyStunTurnServersFromOptions` falls back to `stun.l.google.com:19302` when no STUN
 * server is configured. This wraps it so that "no STUN server configured" means none: with no ICE servers only
 * host candidates are gathered. Idempotent; returns whether the patch is in place.
 */
export function disableDefaultStun(): boolean {
  if (patched) return true;
  const proto = Connection.prototype as unknown as {
    applyStunTurnServersFromOptions?: (this: ConnectionInternals) => void;
  };
  const original = proto.applyStunTurnServersFromOptions;
  if (typeof original !== 'function') return false;
  proto.applyStunTurnServersFromOptions = function (this: ConnectionInternals) {
    original.call(this);
    if (!this.options?.stunServer) this.stunServer = undefined;
  };
  patched = true;
  return true;
}

interface ConnectionInternals {
  options?: { stunServer?: unknown };
  stunServer?: unknown;
}

/**
 * Product config: ICE servers from the grant only (never a public default). With none, host candidates only.
 * `base` adds interface settings (e.g. the loopback ones in tests) but its ICE servers are replaced.
 */
export function rtcConfigFromIceServers(iceServers: IceServer[], base: RtcConfig = {}): RtcConfig {
  disableDefaultStun();
  const servers = iceServers.map((s) => ({ urls: s.urls, username: s.username, credential: s.credential }));
  const usesStun = servers.length > 0;
  return {
    ...base,
    iceServers: (usesStun ? servers : (base.iceServers ?? [])) as PeerConfig['iceServers'],
    // A short STUN wait keeps setup fast when a configured server is unreachable.
    iceStunGatherTimeout: base.iceStunGatherTimeout ?? (usesStun ? 2 : 0.05),
  };
}
