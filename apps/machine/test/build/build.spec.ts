import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { compactVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAppImage, isImageValid, verifyBundleFiles, verifyBundleManifest } from '@aegis/esp';
import { EspWebToolsManifest, FlashBundleManifest, SpdxDocument } from '@aegis/protocol';
import { harness, helloProject, request, sandboxProcesses, workspace, type Harness } from './helpers.js';
import { createBuildBackend } from '../../src/build/index.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h?.cleanup();
});

const compiled = (text: string): string[] => text.split('\n').filter((l) => /Building C object/.test(l));

describe('build in the bwrap sandbox with the test toolchain', () => {
  it('reports the store inventory', async () => {
    const inv = await h.backend.inventory();
    expect(inv.idfVersions).toEqual(['test-1.0']);
    expect(inv.targets).toContain('esp32c3');
  });

  it('builds hello world, streams the log and signs a bundle that verifies', async () => {
    // A lock as the IDF Component Manager writes it: the SBOM lists its components with their exact versions.
    const lock =
      'dependencies:\n  espressif/led_strip:\n    source:\n      type: service\n    version: 2.5.5\n' +
      '  idf:\n    source:\n      type: idf\n    version: 5.3.1\n';
    const ws = await workspace(h, helloProject({ 'dependencies.lock': lock }));
    const { req, log } = request(ws, { target: 'esp32c3' });
    const out = await h.backend.build(req);
    expect(out.error).toBeUndefined();
    expect(out.state).toBe('succeeded');
    expect(out.target).toBe('esp32c3');
    expect(out.idfVersion).toBe('test-1.0');
    expect(log.text()).toContain('in a bubblewrap sandbox');
    expect(log.text()).toMatch(
      /Building C object esp-idf\/main\/CMakeFiles\/__idf_main\.dir\/hello_world_main\.c\.obj/,
    );
    expect(log.text()).toContain('Linking C executable hello_world.elf');

    const dir = out.artifactsDir as string;
    const manifestBytes = await readFile(path.join(dir, 'bundle/manifest.json'));
    const jws = await readFile(path.join(dir, 'bundle/manifest.jws'), 'utf8');
    const verified = await compactVerify(jws, h.publicKey);
    expect(verified.protectedHeader).toMatchObject({ alg: 'EdDSA', kid: h.kid });
    expect(Buffer.from(verified.payload).equals(manifestBytes)).toBe(true);
    const manifest = FlashBundleManifest.parse(JSON.parse(manifestBytes.toString('utf8')));
    expect(manifest.project).toBe('hello_world');
    expect(manifest.chip).toBe('esp32c3');
    expect(manifest.idf_version).toBe('test-1.0');
    expect(manifest.parts.map((p) => [p.name, p.offset])).toEqual(
      expect.arrayContaining([
        ['bootloader', 0x0],
        ['partition-table', 0x8000],
        ['app', 0x10000],
      ]),
    );
    for (const part of manifest.parts) {
      const bytes = await readFile(path.join(dir, 'bundle', part.file));
      expect(bytes.length).toBe(part.size);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(part.sha256);
    }
    // every artifact is listed with its real sha256
    for (const a of out.artifacts) {
      const bytes = await readFile(path.join(dir, a.name));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(a.sha256);
    }
    expect(out.artifacts.map((a) => a.kind)).toEqual(
      expect.arrayContaining([
        'bundle-manifest',
        'bundle-signature',
        'image',
        'elf',
        'map',
        'report',
        'merged',
        'web-manifest',
      ]),
    );
    // the client's own check (libs/esp) with the machine's public JWK accepts it
    const jwk = h.backend.bundlePublicJwk();
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    const checked = await verifyBundleManifest(
      new Uint8Array(manifestBytes),
      jws,
      h.publicKey.export({ format: 'jwk' }),
    );
    const bundleFiles = new Map<string, Uint8Array>();
    for (const part of checked.parts)
      bundleFiles.set(part.file, new Uint8Array(await readFile(path.join(dir, 'bundle', part.file))));
    expect(() => verifyBundleFiles(checked, bundleFiles)).not.toThrow();

    const web = EspWebToolsManifest.parse(
      JSON.parse(await readFile(path.join(dir, 'bundle/web-manifest.json'), 'utf8')),
    );
    expect(web.builds[0].chipFamily).toBe('ESP32-C3');
    expect(web.builds[0].parts).toContainEqual({
      path: manifest.parts.find((p) => p.name === 'app')!.file,
      offset: 0x10000,
    });
    const merged = await readFile(path.join(dir, 'merged.bin'));
    for (const part of manifest.parts) {
      const bytes = await readFile(path.join(dir, 'bundle', part.file));
      expect(merged.subarray(part.offset, part.offset + part.size).equals(bytes)).toBe(true);
    }
    expect(merged[0x8000 - 1]).toBe(0xff);

    const app = manifest.parts.find((p) => p.name === 'app');
    const image = readAppImage(new Uint8Array(await readFile(path.join(dir, 'bundle', app!.file))));
    expect(isImageValid(image)).toBe(true);
    expect(image.header.chip).toBe('esp32c3');
    expect(image.appDesc?.projectName).toBe('hello_world');
    expect(image.appDesc?.idfVersion).toBe('test-1.0');
    const elf = await readFile(path.join(dir, 'hello_world.elf'));
    expect(image.appDesc?.elfSha256).toBe(createHash('sha256').update(elf).digest('hex'));
    expect(out.sizes?.app).toBe(app!.size);

    const sbom = SpdxDocument.parse(JSON.parse(await readFile(path.join(dir, 'sbom.json'), 'utf8')));
    expect(sbom.creationInfo.creators).toEqual([expect.stringMatching(/^Tool: aegis-machine-\d/)]);
    const pk = Object.fromEntries(sbom.packages.map((p) => [p.name, p]));
    expect(pk.hello_world.versionInfo).toBe(image.appDesc?.version);
    // The test toolchain is never presented as ESP-IDF; its store tools are listed by sha256.
    expect(pk['aegis-test-toolchain'].versionInfo).toBe('test-1.0');
    expect(pk['esp-idf']).toBeUndefined();
    expect(pk['riscv64-unknown-elf-gcc'].checksums?.[0].algorithm).toBe('SHA256');
    expect(pk.main.versionInfo).toBe('NOASSERTION');
    expect(pk['espressif/led_strip'].versionInfo).toBe('2.5.5');
    const files = Object.fromEntries(sbom.files.map((f) => [f.fileName, f.checksums[0].checksumValue]));
    for (const a of out.artifacts.filter((x) => ['image', 'merged', 'elf'].includes(x.kind)))
      expect(files[`./${a.name}`]).toBe(a.sha256);
    expect(files['./bundle/manifest.json']).toBeUndefined();

    const size = await h.backend.size(ws);
    expect(size.total_size).toBeGreaterThan(0);
    expect(size.iram_text).toBeGreaterThan(0);
    expect(await h.backend.size(ws, 'summary')).toEqual(size);
    // Per archive / per object file: run in the sandbox; IRAM code adds up to the summary's.
    const archives = (await h.backend.size(ws, 'components')) as Record<string, Record<string, number>>;
    expect(Object.keys(archives)).toContain('libmain.a');
    const objects = (await h.backend.size(ws, 'files')) as Record<string, Record<string, number>>;
    expect(Object.keys(objects)).toContain('hello_world_main.c.obj');
    for (const rows of [archives, objects])
      expect(Object.values(rows).reduce((n, e) => n + (e['.iram0.text'] ?? 0), 0)).toBe(size.iram_text);
  });

  it('fails a compile error with the gcc diagnostic in the log', async () => {
    const ws = await workspace(
      h,
      helloProject({ 'main/hello_world_main.c': 'void app_main(void)\n{\n    int x = ;\n}\n' }),
    );
    const { req, log } = request(ws, { target: 'esp32c3' });
    const out = await h.backend.build(req);
    expect(out.state).toBe('failed');
    expect(out.error?.code).toBe('build_failed');
    expect(out.exitCode).not.toBe(0);
    const diag = log.lines.find((l) =>
      /hello_world_main\.c:3:13: error: expected expression before ';' token/.test(l.text),
    );
    expect(diag?.stream).toBe('stderr');
    expect(out.artifacts).toEqual([]);
    // the outcome carries the first compiler error, for people and agents that only read the status
    expect(out.error?.message).toMatch(/hello_world_main\.c:3: expected expression before ';' token/);
    expect(out.error?.details).toMatchObject({
      diagnostics: [
        expect.objectContaining({ severity: 'error', line: 3, file: expect.stringMatching(/hello_world_main\.c$/) }),
      ],
    });
  });

  it('rebuilds nothing when nothing changed, and rebuilds when the target changes', async () => {
    const files = helloProject({ 'main/util.c': 'int twice(int x)\n{\n    return 2 * x;\n}\n' });
    const first = request(await workspace(h, files), { target: 'esp32c3', userId: 'cache-user' });
    expect((await h.backend.build(first.req)).state).toBe('succeeded');
    expect(compiled(first.log.text()).length).toBeGreaterThanOrEqual(2);

    // a new job (fresh workspace, same upload) restores the cache and compiles nothing
    const second = request(await workspace(h, files), { target: 'esp32c3', userId: 'cache-user' });
    const out2 = await h.backend.build(second.req);
    expect(out2.state).toBe('succeeded');
    expect(compiled(second.log.text())).toEqual([]);
    expect(second.log.text()).toContain('ninja: no work to do.');
    expect(out2.artifacts.length).toBeGreaterThan(0);

    // a changed source recompiles only that file
    const third = request(
      await workspace(h, { ...files, 'main/util.c': 'int twice(int x)\n{\n    return x + x;\n}\n' }),
      { target: 'esp32c3', userId: 'cache-user' },
    );
    expect((await h.backend.build(third.req)).state).toBe('succeeded');
    expect(compiled(third.log.text())).toEqual([expect.stringContaining('util.c.obj')]);

    // another target: set-target runs and everything is compiled again
    const fourth = request(await workspace(h, files), { target: 'esp32c6', userId: 'cache-user' });
    const out4 = await h.backend.build(fourth.req);
    expect(out4.state).toBe('succeeded');
    expect(out4.target).toBe('esp32c6');
    expect(fourth.log.text()).toContain('Set Target to: esp32c6');
    expect(compiled(fourth.log.text()).length).toBeGreaterThanOrEqual(2);
    const manifest = JSON.parse(await readFile(path.join(out4.artifactsDir!, 'bundle/manifest.json'), 'utf8'));
    expect(manifest.chip).toBe('esp32c6');
  });

  it('decodes addresses with the store addr2line', async () => {
    const ws = await workspace(h, helloProject());
    const { req } = request(ws, { target: 'esp32c3' });
    const out = await h.backend.build(req);
    expect(out.state).toBe('succeeded');
    const nm = await import('node:child_process').then((cp) =>
      cp.execFileSync('riscv64-unknown-elf-nm', [path.join(out.artifactsDir!, 'hello_world.elf')], {
        encoding: 'utf8',
      }),
    );
    const appMain = /^([0-9a-f]+) T app_main$/m.exec(nm)?.[1];
    expect(appMain).toBeDefined();
    const frames = await h.backend.decode(ws, [`0x${appMain}`, '0x00000004']);
    expect(frames[0]).toMatchObject({ function: 'app_main', line: expect.any(Number) });
    expect(frames[0].file).toMatch(/hello_world_main\.c$/);
    expect(frames[1]).toMatchObject({ function: null, file: null, line: null });
    await expect(h.backend.decode(ws, ['not-an-address'])).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('clear errors', () => {
  it('unknown IDF version lists the available ones', async () => {
    const ws = await workspace(h, helloProject());
    const { req, log } = request(ws, { idfVersion: '5.9.9' });
    const out = await h.backend.build(req);
    expect(out.state).toBe('failed');
    expect(out.error?.code).toBe('unknown_idf_version');
    expect(out.error?.message).toContain('5.9.9');
    expect(out.error?.message).toContain('test-1.0 (test toolchain)');
    expect(log.text()).toContain('5.9.9');
  });

  it('IDF version from .idf-version and .espctl.toml', async () => {
    const a = request(await workspace(h, helloProject({ '.idf-version': '4.4\n' })));
    expect((await h.backend.build(a.req)).error?.message).toMatch(/ESP-IDF 4\.4 \(from \.idf-version\)/);
    const b = request(await workspace(h, helloProject({ '.espctl.toml': '[build]\nidf_version = "5.1"\n' })));
    expect((await h.backend.build(b.req)).error?.message).toMatch(/ESP-IDF 5\.1 \(from \.espctl\.toml\)/);
    const c = request(await workspace(h, helloProject({ '.espctl.toml': '[build]\ntarget = 42\n' })));
    expect((await h.backend.build(c.req)).error?.code).toBe('invalid_project_config');
  });

  it('unknown target says what the toolchain builds for', async () => {
    const ws = await workspace(h, helloProject());
    const { req } = request(ws, { target: 'esp32s3' });
    const out = await h.backend.build(req);
    expect(out.state).toBe('failed');
    expect(out.error?.code).toBe('unknown_target');
    expect(out.error?.message).toMatch(/esp32s3.*test toolchain test-1\.0.*esp32c3/);
  });

  it('target from .espctl.toml is used when the request has none', async () => {
    const ws = await workspace(h, helloProject({ '.espctl.toml': '[build]\ntarget = "esp32h2"\n' }));
    const { req } = request(ws);
    const out = await h.backend.build(req);
    expect(out.state).toBe('succeeded');
    expect(out.target).toBe('esp32h2');
  });

  it('a missing project is a clear error', async () => {
    const { req } = request(path.join(h.root, 'no-such-ws'));
    const out = await h.backend.build(req);
    expect(out.error?.code).toBe('project_missing');
  });

  it('cancel stops the build and every process it started', async () => {
    const ws = await workspace(
      h,
      helloProject({ 'CMakeLists.txt': 'project(slow)\nexecute_process(COMMAND sleep 607)\n' }),
    );
    const { req, abort } = request(ws);
    const p = h.backend.build(req);
    // wait until the build really runs its `sleep 607` in the sandbox, then cancel
    for (let i = 0; i < 400 && sandboxProcesses('sleep\u0000607') === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(sandboxProcesses('sleep\u0000607')).toBe(1);
    abort.abort();
    const out = await p;
    expect(out.state).toBe('canceled');
    expect(out.artifacts).toEqual([]);
    expect(sandboxProcesses('sleep\u0000607')).toBe(0);
  });

  it('a profile uses sdkconfig.defaults.<profile> and its own cache entry', async () => {
    const files = helloProject({
      'sdkconfig.defaults': 'CONFIG_ESPTOOLPY_FLASHSIZE="4MB"\n',
      'sdkconfig.defaults.release': 'CONFIG_ESPTOOLPY_FLASHSIZE="8MB"\n',
    });
    const flashSize = async (profile?: 'debug' | 'release'): Promise<string> => {
      const { req } = request(await workspace(h, files), { target: 'esp32c3', userId: 'profile-user', profile });
      const out = await h.backend.build(req);
      expect(out.state).toBe('succeeded');
      return JSON.parse(await readFile(path.join(out.artifactsDir!, 'bundle/manifest.json'), 'utf8')).flash.size;
    };
    expect(await flashSize('release')).toBe('8MB');
    expect(await flashSize()).toBe('4MB');
    expect(await flashSize('release')).toBe('8MB');
  });

  it('builds of different jobs run in parallel', async () => {
    const jobs = await Promise.all(
      [1, 2, 3].map(async () => request(await workspace(h, helloProject()), { target: 'esp32c3' })),
    );
    const outs = await Promise.all(jobs.map((j) => h.backend.build(j.req)));
    expect(outs.map((o) => o.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });

  it('runs with a private (0700) machine directory and keeps its bundle key across restarts', async () => {
    const workDir = path.join(h.root, 'machine-state');
    await mkdir(workDir, { mode: 0o700 });
    const first = await createBuildBackend({ storeRoot: h.storeRoot, sandbox: 'bwrap', workDir });
    const { req } = request(await workspace(h, helloProject()), { target: 'esp32c3' });
    const out = await first.build(req);
    expect(out.error).toBeUndefined();
    const dir = out.artifactsDir!;
    const manifestBytes = new Uint8Array(await readFile(path.join(dir, 'bundle/manifest.json')));
    const jws = await readFile(path.join(dir, 'bundle/manifest.jws'), 'utf8');
    await expect(verifyBundleManifest(manifestBytes, jws, first.bundlePublicJwk())).resolves.toMatchObject({
      project: 'hello_world',
    });
    first.setMachineId('0b7c6c1e-6f7e-4a57-9d43-9d1c1c7b9c11');
    const again = request(await workspace(h, helloProject()), { target: 'esp32c3' });
    const out2 = await first.build(again.req);
    const m2 = JSON.parse(await readFile(path.join(out2.artifactsDir!, 'bundle/manifest.json'), 'utf8'));
    expect(m2.machine_id).toBe('0b7c6c1e-6f7e-4a57-9d43-9d1c1c7b9c11');
    const second = await createBuildBackend({ storeRoot: h.storeRoot, sandbox: 'bwrap', workDir });
    expect(second.bundlePublicJwk()).toEqual(first.bundlePublicJwk());
    expect((await stat(path.join(workDir, 'bundle-signing-key.pem'))).mode & 0o777).toBe(0o600);
  });

  it('an IDF whose export.sh fails says so, with its output', async () => {
    const { cp, writeFile: write } = await import('node:fs/promises');
    const broken = path.join(h.root, 'broken-store');
    await cp(h.storeRoot, broken, { recursive: true, verbatimSymlinks: true });
    // a store that passes its checksums but whose export.sh fails (e.g. a half-finished install.sh)
    const exportSh = path.join(broken, 'idf/test-1.0/export.sh');
    await write(exportSh, 'echo "ERROR: tool xtensa-esp-elf has no installed versions" >&2\nfalse\n');
    const manifestFile = path.join(broken, 'manifest.json');
    const m = JSON.parse(await readFile(manifestFile, 'utf8'));
    const { createHash } = await import('node:crypto');
    for (const t of m.versions[0].tools) {
      if (t.name === 'export.sh')
        t.sha256 = createHash('sha256')
          .update(await readFile(exportSh))
          .digest('hex');
    }
    await write(manifestFile, JSON.stringify(m));
    const backend = await createBuildBackend({
      storeRoot: broken,
      sandbox: 'bwrap',
      workDir: path.join(h.root, 'broken-work'),
    });
    const { req, log } = request(await workspace(h, helloProject()), { target: 'esp32c3' });
    const out = await backend.build(req);
    expect(out.state).toBe('failed');
    expect(log.text()).toContain('tool xtensa-esp-elf has no installed versions');
    expect(log.text()).toContain('export.sh failed');
  });
});
