import { describe, expect, it } from 'vitest';
import {
  AgentStateReport,
  EspctlMethods,
  FirmwareClientMessage,
  FlashBundleManifest,
  GrantClaims,
  GrantRequest,
  JOB_TRANSITIONS,
  JobState,
  OfferBody,
  PtyClientMessage,
  SignalingEvent,
  StoreManifest,
  EspctlToml,
  parseAt,
} from '@aegis/protocol';

const fp = { algorithm: 'sha-256', value: 'AB:CD:EF:01' } as const;
const uuid = '7d444840-9dc0-11d1-b245-5ffdce74fad2';

describe('grant request', () => {
  it('fills defaults and keeps what was asked', () => {
    const r = GrantRequest.parse({
      peer_fingerprint: fp,
      required_channels: ['espctl', 'firmware'],
      target: 'esp32c3',
    });
    expect(r).toMatchObject({ cpu_cores: 2, memory_mb: 2048, timeout_secs: 900, priority: 0, target: 'esp32c3' });
  });
  it.each([
    [{ peer_fingerprint: fp, required_channels: ['camera'] }, 'required_channels'],
    [{ peer_fingerprint: fp, required_channels: [] }, 'required_channels'],
    [{ peer_fingerprint: { algorithm: 'md5', value: 'AB' }, required_channels: ['pty'] }, 'peer_fingerprint'],
    [{ peer_fingerprint: fp, required_channels: ['pty'], target: 'esp8266' }, 'target'],
    [{ peer_fingerprint: fp, required_channels: ['pty'], surprise: 1 }, 'surprise'],
    [{ peer_fingerprint: fp, required_channels: ['pty'], cpu_cores: 0 }, 'cpu_cores'],
  ])('refuses %j with a message naming %s', (body, field) => {
    const r = parseAt(GrantRequest, body, 'grant request');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain(field);
  });
});

describe('grant claims', () => {
  const claims = {
    v: 1,
    iss: 'https://aegis.example',
    aud: 'aegis-machine',
    sub: uuid,
    jti: uuid,
    iat: 1,
    exp: 16,
    job_id: uuid,
    kind: 'build',
    params: { cpu_cores: 2, memory_mb: 1024, timeout_secs: 60 },
    channels: ['espctl'],
    max_bandwidth_kbps: 800,
    max_message_rate: 200,
    ice_servers: [],
    peer_fingerprint: fp,
  };
  it('accepts a complete grant', () => expect(GrantClaims.safeParse(claims).success).toBe(true));
  it('refuses another audience and another version', () => {
    expect(GrantClaims.safeParse({ ...claims, aud: 'someone-else' }).success).toBe(false);
    expect(GrantClaims.safeParse({ ...claims, v: 2 }).success).toBe(false);
  });
});

describe('job states', () => {
  it('terminal states lead nowhere and every target is a state', () => {
    for (const s of ['succeeded', 'failed', 'canceled', 'expired'] as const) expect(JOB_TRANSITIONS[s]).toEqual([]);
    for (const next of Object.values(JOB_TRANSITIONS).flat()) expect(JobState.options).toContain(next);
  });
  it('a machine cannot report pending or expired', () => {
    expect(AgentStateReport.safeParse({ state: 'running' }).success).toBe(true);
    expect(AgentStateReport.safeParse({ state: 'expired' }).success).toBe(false);
  });
});

describe('signaling', () => {
  it('accepts an SDP offer and refuses garbage', () => {
    expect(OfferBody.safeParse({ type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n' }).success).toBe(true);
    expect(OfferBody.safeParse({ type: 'offer', sdp: 'hello' }).success).toBe(false);
    expect(OfferBody.safeParse({ type: 'answer', sdp: 'v=0' }).success).toBe(false);
    expect(OfferBody.safeParse({ type: 'offer', sdp: 'v=0' + 'a'.repeat(70_000) }).success).toBe(false);
  });
  it('discriminates events by type', () => {
    const e = SignalingEvent.parse({ type: 'answer', seq: 3, job_id: uuid, sdp: 'v=0' });
    expect(e.type).toBe('answer');
    expect(SignalingEvent.safeParse({ type: 'answer', seq: 3, job_id: uuid }).success).toBe(false);
  });
});

describe('channel messages', () => {
  it('validates JSON-RPC params per method', () => {
    expect(
      EspctlMethods['upload.begin'].params.safeParse({ size: 10, sha256: 'a'.repeat(64), format: 'tar' }).success,
    ).toBe(true);
    expect(
      EspctlMethods['upload.begin'].params.safeParse({ size: -1, sha256: 'a'.repeat(64), format: 'tar' }).success,
    ).toBe(false);
    expect(EspctlMethods.size.params.parse({})).toEqual({ detail: 'summary' });
    expect(EspctlMethods.size.params.parse({ detail: 'components' })).toEqual({ detail: 'components' });
    expect(EspctlMethods.size.params.parse({ detail: 'files' })).toEqual({ detail: 'files' });
    expect(EspctlMethods.size.params.safeParse({ detail: 'symbols' }).success).toBe(false);
    expect(EspctlMethods.size.params.safeParse({ detail: 'summary', extra: 1 }).success).toBe(false);
    expect(EspctlMethods.decode.params.safeParse({ addresses: ['0x42000a1c'] }).success).toBe(true);
    expect(EspctlMethods.decode.params.safeParse({ addresses: ['rm -rf /'] }).success).toBe(false);
  });
  it('firmware get defaults its offset to 0', () => {
    expect(FirmwareClientMessage.parse({ type: 'get', name: 'app.bin' })).toEqual({
      type: 'get',
      name: 'app.bin',
      offset: 0,
    });
  });
  it('pty sizes are bounded', () => {
    expect(PtyClientMessage.safeParse({ type: 'resize', cols: 80, rows: 24 }).success).toBe(true);
    expect(PtyClientMessage.safeParse({ type: 'resize', cols: 0, rows: 24 }).success).toBe(false);
  });
});

describe('files', () => {
  const part = { name: 'app', offset: 0x10000, size: 100, sha256: 'b'.repeat(64), file: 'files/app.bin' };
  const manifest = {
    v: 1,
    project: 'hello',
    chip: 'esp32c3',
    idf_version: '5.3.1',
    flash: { mode: 'dio', freq: '80m', size: '4MB' },
    parts: [part],
    created_at: '2026-11-25T10:00:00.000Z',
  };
  it('bundle manifest paths stay inside the bundle', () => {
    expect(FlashBundleManifest.safeParse(manifest).success).toBe(true);
    expect(FlashBundleManifest.safeParse({ ...manifest, parts: [{ ...part, file: '../etc/passwd' }] }).success).toBe(
      false,
    );
    expect(FlashBundleManifest.safeParse({ ...manifest, parts: [{ ...part, file: '/etc/passwd' }] }).success).toBe(
      false,
    );
  });
  it('store manifest has at most one default and unique versions', () => {
    const v = { version: '5.3.1', path: 'idf/5.3.1', targets: ['esp32c3'], tools: [], default: true };
    expect(StoreManifest.safeParse({ v: 1, versions: [v] }).success).toBe(true);
    expect(StoreManifest.safeParse({ v: 1, versions: [v, { ...v, version: '5.4' }] }).success).toBe(false);
    expect(StoreManifest.safeParse({ v: 1, versions: [v, { ...v, default: false }] }).success).toBe(false);
  });
  it('.espctl.toml refuses unknown keys', () => {
    expect(EspctlToml.safeParse({ build: { target: 'esp32s3' } }).success).toBe(true);
    expect(EspctlToml.safeParse({ build: { tagret: 'esp32s3' } }).success).toBe(false);
  });
});
