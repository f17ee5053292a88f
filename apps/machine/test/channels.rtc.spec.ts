import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RTCPeerConnection } from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcErrorCode } from '@aegis/protocol';
import { RpcError, withOwnCertificate, loopbackRtcConfig, startRemoteSession, type RemoteSession } from '@aegis/peer';
import { makeSigner } from './grant-fixtures.js';
import { eventually, startInProcessMachine, startTestApi, type InProcessMachine } from './harness.js';
import { rawConnect, waitState } from './raw-client.js';
import { fixtureProject, makeTar } from './tar-writer.js';

describe('grant refusals and channel rules through the real API', () => {
  let api: Awaited<ReturnType<typeof startTestApi>>;
  let machine: InProcessMachine;
  const cleanup: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    api = await startTestApi();
    machine = await startInProcessMachine(api);
  });
  afterAll(async () => {
    for (const c of cleanup) await c();
    await machine?.stop();
    await api?.stop();
  });

  const connect = async () => {
    const s = await startRemoteSession({ baseUrl: api.url, apiKey: api.userKey, rtcConfig: loopbackRtcConfig });
    cleanup.push(() => s.close());
    return s;
  };

  it('refuses an offer whose fingerprint is not the grant’s, and tells the client why', async () => {
    const other = new RTCPeerConnection(await withOwnCertificate(loopbackRtcConfig));
    other.createDataChannel('espctl');
    cleanup.push(() => other.close());
    const r = await rawConnect({
      baseUrl: api.url,
      apiKey: api.userKey,
      grantChannels: ['espctl'],
      createChannels: ['espctl'],
      fingerprintOf: other,
    });
    cleanup.push(r.close);
    expect(r.error?.code).toBe('grant_fingerprint_mismatch');
    expect(r.error?.message).toMatch(/request a new grant/);
  });

  it('closes a channel the grant does not name and an unknown channel, and keeps serving the granted one', async () => {
    const r = await rawConnect({
      baseUrl: api.url,
      apiKey: api.userKey,
      grantChannels: ['espctl'],
      createChannels: ['espctl', 'firmware', 'evil'],
    });
    cleanup.push(r.close);
    expect(r.error).toBeUndefined();
    expect(await waitState(r.channels.firmware, 'closed')).toBe(true);
    expect(await waitState(r.channels.evil, 'closed')).toBe(true);
    expect(await waitState(r.channels.espctl, 'open')).toBe(true);
    const reply = new Promise<string>((res) => r.channels.espctl.onMessage.subscribe((d) => res(String(d))));
    r.channels.espctl.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'build.status', params: {} }));
    expect(JSON.parse(await reply)).toMatchObject({ id: 1, result: { state: 'assigned' } });
  });

  it('refuses a grant signed by a key it does not trust (unknown kid)', async () => {
    const foreign = await makeSigner('foreign');
    const jwks = join(mkdtempSync(join(tmpdir(), 'aegis-jwks-')), 'foreign-jwks.json');
    writeFileSync(jwks, JSON.stringify(foreign.jwks));
    // A second machine that trusts only the foreign key; the first one is stopped so the job goes here.
    await machine.stop();
    const strict = await startInProcessMachine(api, { trustedJwks: jwks, name: 'strict' });
    try {
      const err = await startRemoteSession({
        baseUrl: api.url,
        apiKey: api.userKey,
        rtcConfig: loopbackRtcConfig,
        timeoutMs: 10_000,
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'grant_unknown_kid' });
    } finally {
      await strict.stop();
      machine = await startInProcessMachine(api);
    }
  });

  describe('bad input on every channel', () => {
    let s: RemoteSession;
    beforeAll(async () => {
      s = await connect();
    });
    const raw = (text: string | Buffer) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const off = s.espctl!.channel.onMessage((d) => {
          if (typeof d !== 'string') return;
          const m = JSON.parse(d) as Record<string, unknown>;
          if ('error' in m || 'result' in m) {
            off();
            resolve(m);
          }
        });
        s.espctl!.channel.send(text);
      });

    it('espctl: malformed JSON, invalid requests, unknown methods, bad params, oversize and stray binary frames', async () => {
      expect(await raw('{nope')).toMatchObject({ id: null, error: { code: RpcErrorCode.ParseError } });
      expect(await raw('{"jsonrpc":"2.0","id":5}')).toMatchObject({
        id: 5,
        error: { code: RpcErrorCode.InvalidRequest },
      });
      expect(await raw('{"jsonrpc":"2.0","id":6,"method":"rm -rf"}')).toMatchObject({
        id: 6,
        error: { code: RpcErrorCode.MethodNotFound },
      });
      await expect(s.espctl!.call('set_target', { target: 'esp1' as 'esp32' })).rejects.toMatchObject({
        code: RpcErrorCode.InvalidParams,
      });
      // werift will not send past the machine's advertised max-message-size; a hostile peer would, so lift the
      // client-side check to see what the machine does with it.
      (s.pc.sctpTransport as unknown as { assertSendableMessageSize: () => void }).assertSendableMessageSize = () => {};
      expect(
        await raw(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'x', params: 'a'.repeat(70_000) })),
      ).toMatchObject({
        error: { code: RpcErrorCode.FrameTooLarge },
      });
      expect(await raw(Buffer.alloc(70_000))).toMatchObject({ error: { code: RpcErrorCode.FrameTooLarge } });
      expect(await raw(Buffer.from('stray'))).toMatchObject({ error: { code: RpcErrorCode.UploadRejected } });
      await expect(s.espctl!.call('build.start', {})).rejects.toMatchObject({ code: RpcErrorCode.NotFound });
      await expect(s.espctl!.call('artifacts.manifest', {})).rejects.toMatchObject({ code: RpcErrorCode.NotFound });
      expect((await s.espctl!.call('build.status', {})).state).toBe('assigned');
    });

    const hostile: [string, Buffer][] = [
      [
        '../ path',
        makeTar([
          { name: 'ok.txt', data: 'x' },
          { name: '../escape.txt', data: 'owned' },
        ]),
      ],
      ['absolute path', makeTar([{ name: '/tmp/aegis-escape-abs.txt', data: 'owned' }])],
      ['symlink', makeTar([{ name: 'link', type: '2', linkname: '/etc/passwd' }])],
      [
        'hard link',
        makeTar([
          { name: 'a.txt', data: 'x' },
          { name: 'b.txt', type: '1', linkname: '/etc/passwd' },
        ]),
      ],
      ['device', makeTar([{ name: 'dev', type: '3' }])],
      ['fifo', makeTar([{ name: 'fifo', type: '6' }])],
      ['nested ..', makeTar([{ name: 'main/../../escape2.txt', data: 'owned' }])],
      ['garbage', Buffer.from('this is not a tar archive at all'.repeat(40))],
    ];
    it.each(hostile)('upload with %s → JSON-RPC error, nothing written outside, still serving', async (_n, tar) => {
      const err = await s.espctl!.uploadProject(tar).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect((err as RpcError).code).toBe(RpcErrorCode.UploadRejected);
      const ws = join(machine.workDir, 'jobs', s.jobId);
      expect(existsSync(join(ws, '..', 'escape.txt'))).toBe(false);
      expect(existsSync(join(machine.workDir, 'jobs', 'escape2.txt'))).toBe(false);
      expect(existsSync('/tmp/aegis-escape-abs.txt')).toBe(false);
      expect(existsSync(join(ws, 'project'))).toBe(false);
      expect((await s.espctl!.call('build.status', {})).state).toBe('assigned');
    });

    it('upload: size over the cap, wrong sha256 and wrong size are refused', async () => {
      await expect(
        s.espctl!.call('upload.begin', { size: 2 ** 40, sha256: 'a'.repeat(64), format: 'tar' }),
      ).rejects.toMatchObject({ code: RpcErrorCode.UploadRejected });
      await s.espctl!.call('upload.begin', { size: 10, sha256: 'a'.repeat(64), format: 'tar' });
      await s.espctl!.sender.send(Buffer.alloc(10));
      await expect(s.espctl!.call('upload.end', {})).rejects.toThrow(/sha256/);
      await s.espctl!.call('upload.begin', { size: 10, sha256: 'a'.repeat(64), format: 'tar' });
      await s.espctl!.sender.send(Buffer.alloc(4));
      await expect(s.espctl!.call('upload.end', {})).rejects.toThrow(/4 of 10/);
    });

    it('firmware: malformed and unknown requests get error frames', async () => {
      const fw = s.firmware!;
      const next = () =>
        new Promise<Record<string, unknown>>((res) => {
          const off = fw.channel.onMessage((d) => {
            off();
            res(JSON.parse(String(d)) as Record<string, unknown>);
          });
        });
      let p = next();
      fw.channel.send('{garbage');
      expect(await p).toMatchObject({ type: 'error', error: { code: 'bad_frame' } });
      p = next();
      fw.channel.send(JSON.stringify({ type: 'put', name: 'x' }));
      expect(await p).toMatchObject({ type: 'error', error: { code: 'bad_request' } });
      await expect(fw.fetch('app.bin')).rejects.toMatchObject({ code: 'not_ready' });
    });

    it('pty: bad frames get errors; a shell runs in the workspace, resizes and exits', async () => {
      const pty = s.pty!;
      const errors: string[] = [];
      pty.onError((m) => errors.push(m));
      pty.channel.send('{bad');
      await pty.write('ls\n');
      pty.channel.send(JSON.stringify({ type: 'resize', cols: 1, rows: 1 }));
      await eventually(
        async () => errors.length,
        (n) => n >= 3,
        5000,
      );
      expect(errors).toHaveLength(3);
      let out = '';
      pty.onData((d) => (out += d.toString()));
      const exited = new Promise<{ code: number | null }>((res) => pty.onExit(res));
      await pty.open({ cols: 100, rows: 30 });
      await pty.resize(120, 40);
      await pty.write('stty size; pwd; exit 3\n');
      expect((await exited).code).toBe(3);
      await eventually(
        async () => out,
        (o) => o.includes('40 120') && o.includes(s.jobId),
        5000,
      );
    });

    it('after all that, the same session still uploads and builds', async () => {
      await s.espctl!.uploadProject(fixtureProject({ lines: 3 }));
      await s.espctl!.call('build.start', {});
      expect((await s.espctl!.waitForBuild()).state).toBe('succeeded');
    });
  });
});
