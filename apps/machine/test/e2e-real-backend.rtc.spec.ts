import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactVerify, importJWK } from 'jose';
import { loopbackRtcConfig, startRemoteSession, type RemoteSession } from '@aegis/peer';
import { isImageValid, readAppImage } from '@aegis/esp';
import { SpdxDocument, type LogLine } from '@aegis/protocol';
import { realIdfStore } from '@aegis/testkit';
import { eventually, getJob, startSandboxedStack } from './harness.js';
import { makeTar } from './tar-writer.js';

/** ESP-IDF's own get-started/hello_world from the store, as espctl would upload it. */
function helloTar(): Buffer {
  const dir = join(realIdfStore(), 'idf/5.1.6/esp-idf/examples/get-started/hello_world');
  return makeTar([
    { name: 'CMakeLists.txt', data: readFileSync(join(dir, 'CMakeLists.txt'), 'utf8') },
    { name: 'main/', type: '5' },
    { name: 'main/CMakeLists.txt', data: readFileSync(join(dir, 'main/CMakeLists.txt'), 'utf8') },
    { name: 'main/hello_world_main.c', data: readFileSync(join(dir, 'main/hello_world_main.c'), 'utf8') },
  ]);
}

/**
 * The whole path with the real parts: the built agent process (dist/main.js) with the real build backend and real
 * ESP-IDF 5.1.6 in a bwrap sandbox, the real API, a libs/peer client over WebRTC on loopback.
 */
describe('remote build with the real backend (real ESP-IDF 5.1.6)', () => {
  let stack: Awaited<ReturnType<typeof startSandboxedStack>>;
  let api: typeof stack.api;
  let s: RemoteSession;

  beforeAll(async () => {
    stack = await startSandboxedStack('real');
    api = stack.api;
  }, 5 * 60_000);
  afterAll(async () => {
    await s?.close();
    await stack?.stop();
  });

  it(
    'builds hello_world for esp32c3 and delivers a signed flash bundle whose parts verify',
    async () => {
      s = await startRemoteSession({ baseUrl: api.url, apiKey: api.userKey, rtcConfig: loopbackRtcConfig });
      const lines: LogLine[] = [];
      s.espctl!.on('log', (l) => lines.push(l));
      await s.espctl!.uploadProject(helloTar());
      // The target comes from set_target (as espctl's set_target.run sends it), not from build.start.
      expect(await s.espctl!.call('set_target', { target: 'esp32c3' })).toEqual({ target: 'esp32c3' });
      await s.espctl!.call('build.start', {});
      const t0 = Date.now();
      const done = await s.espctl!.waitForBuild();
      console.log(`[build time] e2e clean hello_world esp32c3 over WebRTC: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      expect(done, lines.map((l) => l.text).join('\n')).toMatchObject({
        state: 'succeeded',
        exit_code: 0,
        target: 'esp32c3',
      });
      const status = await s.espctl!.call('build.status', {});
      await eventually(
        async () => lines.length,
        (n) => n >= status.next_seq,
        5000,
      );
      expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: status.next_seq }, (_, i) => i));
      expect(lines.map((l) => l.text)).toContain('Setting target esp32c3.');

      const { manifest, jws } = await s.espctl!.call('artifacts.manifest', {});
      expect(manifest.chip).toBe('esp32c3');
      // The bundle is signed with the machine's key, announced in its heartbeat (bundle_public_jwk).
      const jwk = await machineJwk(api.url, api.adminKey);
      expect(jwk).toBeDefined();
      const { payload } = await compactVerify(jws, await importJWK(jwk as Parameters<typeof importJWK>[0], 'EdDSA'));
      expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({ chip: 'esp32c3', project: 'hello_world' });

      const { artifacts } = await s.espctl!.call('artifacts.list', {});
      for (const part of manifest.parts) {
        const a = artifacts.find((x) => x.name.endsWith(part.file));
        expect(a, `artifact for ${part.file}`).toBeDefined();
        const f = await s.firmware!.fetch(a!.name);
        expect(createHash('sha256').update(f.data).digest('hex')).toBe(part.sha256);
        expect(f.size).toBe(part.size);
        if (part.name === 'app') {
          const image = readAppImage(f.data);
          expect(isImageValid(image)).toBe(true);
          expect(image.header.chip).toBe('esp32c3');
          expect(image.appDesc).toMatchObject({ projectName: 'hello_world', idfVersion: 'v5.1.6' });
        }
      }
      const sbom = await s.espctl!.call('sbom', {});
      expect(SpdxDocument.parse(sbom)).toMatchObject({ spdxVersion: 'SPDX-2.3', name: 'hello_world-sbom' });
      const size = (await s.espctl!.call('size', {})) as Record<string, unknown>;
      expect(size.total_size).toBeGreaterThan(50_000);
      const { checks } = await s.espctl!.call('diag', {});
      expect(checks.every((c) => c.ok)).toBe(true);
      const job = await eventually(
        () => getJob(api, api.userKey, s.jobId),
        (j) => j.state === 'succeeded',
      );
      expect(job.sizes && Object.keys(job.sizes).length).toBeGreaterThan(0);
      expect(stack.machine.output.join('\n')).not.toMatch(/aegis_m_|aegis_u_/);
    },
    30 * 60_000,
  );
});

async function machineJwk(url: string, adminKey: string): Promise<unknown> {
  const res = await fetch(`${url}/machines`, { headers: { authorization: `Bearer ${adminKey}` } });
  const body = (await res.json()) as
    { machines?: { bundle_public_jwk?: unknown }[] } | { bundle_public_jwk?: unknown }[];
  const list = Array.isArray(body) ? body : (body.machines ?? []);
  return list.find((m) => m.bundle_public_jwk)?.bundle_public_jwk;
}
