import { Connection, type PeerConfig } from 'werift';
import type { IceServer } from '@aegis/protocol';
import type { RtcConfig } from './rtc-base.js';

export * from './rtc-base.js';

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
