import { describe, expect, it } from 'vitest';
import { iceServersFor, turnConfigFromEnv, turnCredential } from '../src/turn/turn-credentials.js';

const user = '8a1f0b52-1c2d-4e5f-9a0b-1c2d3e4f5a6b';

describe('TURN REST API credentials', () => {
  it('username is <expiry>:<user id>, the credential base64(HMAC-SHA1(secret, username))', () => {
    const cfg = { urls: ['turn:turn.example.com:3478'], secret: 'turn-shared-secret', ttlSecs: 3600 };
    // The expected value computed independently (Python's hmac module).
    expect(turnCredential(cfg, user, 1_700_000_000_500)).toEqual({
      urls: ['turn:turn.example.com:3478'],
      username: `1700003600:${user}`,
      credential: 'JKOSvwNtyHel76vRVl5bwcHnL9g=',
    });
  });

  it('each grant gets a fresh credential beside the static ICE servers; none without TURN', () => {
    const stun = { urls: 'stun:stun.example.com:3478' };
    const turn = { urls: ['turn:t:3478'], secret: 's', ttlSecs: 600 };
    const a = iceServersFor({ iceServers: [stun], turn }, user, 1_000_000);
    const b = iceServersFor({ iceServers: [stun], turn }, user, 2_000_000);
    expect(a[0]).toEqual(stun);
    expect(a[1]?.username).toBe(`1600:${user}`);
    expect(b[1]?.username).toBe(`2600:${user}`);
    expect(a[1]?.credential).not.toBe(b[1]?.credential);
    expect(iceServersFor({ iceServers: [stun] }, user, 1_000_000)).toEqual([stun]);
  });

  it('reads TURN_URLS, TURN_SECRET and TURN_TTL_SECS, and says what is wrong', () => {
    expect(turnConfigFromEnv({})).toBeUndefined();
    expect(turnConfigFromEnv({ TURN_URLS: 'turn:a:3478, turns:b:5349', TURN_SECRET: 'x' })).toEqual({
      urls: ['turn:a:3478', 'turns:b:5349'],
      secret: 'x',
      ttlSecs: 3600,
    });
    expect(() => turnConfigFromEnv({ TURN_URLS: 'turn:a:3478' })).toThrow(/TURN_SECRET/);
    expect(() => turnConfigFromEnv({ TURN_SECRET: 'x' })).toThrow(/TURN_URLS/);
    expect(() => turnConfigFromEnv({ TURN_URLS: 'http://a', TURN_SECRET: 'x' })).toThrow(/not a turn: or turns: URL/);
    expect(() => turnConfigFromEnv({ TURN_URLS: 'turn:a', TURN_SECRET: 'x', TURN_TTL_SECS: '5' })).toThrow(
      /TURN_TTL_SECS must be an integer from 60/,
    );
  });
});
