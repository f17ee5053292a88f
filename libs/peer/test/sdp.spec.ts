import { describe, expect, it } from 'vitest';
import { fingerprintFromSdp, stripMdnsCandidates } from '../src/sdp.js';
import { Connection } from 'werift';
import { disableDefaultStun } from '../src/rtc-config.js';

describe('sdp helpers', () => {
  it('reads the DTLS fingerprint', () => {
    const sdp = 'v=0\r\na=fingerprint:SHA-256 ab:cd:EF\r\n';
    expect(fingerprintFromSdp(sdp)).toEqual({ algorithm: 'sha-256', value: 'AB:CD:EF' });
    expect(fingerprintFromSdp('v=0\r\n')).toBeUndefined();
    expect(fingerprintFromSdp('v=0\r\na=fingerprint:sha-256 AB:CD\r\na=fingerprint:sha-256 AB:CE\r\n')).toBeUndefined();
  });

  it('drops mDNS candidates', () => {
    const sdp =
      'v=0\r\na=candidate:1 1 udp 1 abc-123.local 5000 typ host\r\na=candidate:2 1 udp 1 127.0.0.1 5001 typ host\r\n';
    expect(stripMdnsCandidates(sdp)).not.toContain('.local');
    expect(stripMdnsCandidates(sdp)).toContain('127.0.0.1');
  });

  it('switches off werift’s public STUN default', () => {
    expect(disableDefaultStun()).toBe(true);
    const none = new Connection(true, {}) as unknown as { stunServer?: unknown };
    expect(none.stunServer).toBeUndefined();
    const own = new Connection(true, { stunServer: ['127.0.0.1', 3478] }) as unknown as { stunServer?: unknown };
    expect(own.stunServer).toEqual(['127.0.0.1', 3478]);
  });
});
