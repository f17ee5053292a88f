import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cp, mkdir, readFile, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { compactVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isImageValid,
  parseFlasherArgs,
  parsePartitionBinary,
  parseSizeReport,
  readAppImage,
  verifyBundleFiles,
  verifyBundleManifest,
} from '@aegis/esp';
import { EspWebToolsManifest, FlashBundleManifest, SpdxDocument } from '@aegis/protocol';
import type { BuildOutcome } from '../../src/build/backend.js';
import { makeArtifacts } from '../../src/build/bundle.js';
import { createBuildBackend } from '../../src/build/index.js';
import {
  IDF_VERSION,
  bundlePart,
  fakeStore,
  harness,
  helloProject,
  ninjaWork,
  request,
  sandboxProcesses,
  sha256,
  timedBuild,
  workspace,
  type Collected,
  type Harness,
} from './helpers.js';

/**
 * Real ESP-IDF v5.1.6 in the bwrap sandbox. One clean hello_world build for esp32c3 (beforeAll) is checked from
 * every side; the incremental cases then reuse its cache (same backend, same user), so this file makes only three
 * clean builds: esp32c3, esp32 (Xtensa, the target switch) and the release profile.
 */
const USER = 'hello-user';
const MAIN = 'main/hello_world_main.c';
// Flash size by profile: the plain build takes sdkconfig.defaults, `release` adds its own file on top.
const HELLO = helloProject({
  'sdkconfig.defaults': 'CONFIG_ESPTOOLPY_FLASHSIZE_4MB=y\n',
  'sdkconfig.defaults.release': 'CONFIG_ESPTOOLPY_FLASHSIZE_8MB=y\n',
});
const LONG = 30 * 60_000;

let h: Harness;
let clean: { ws: string; out: BuildOutcome; log: Collected };
beforeAll(async () => {
  h = await harness();
  const ws = await workspace(h, HELLO);
  const { req, log } = request(ws, { target: 'esp32c3', userId: USER });
  const out = await timedBuild(h.backend, req, 'clean hello_world esp32c3 (bwrap)');
  clean = { ws, out, log };
}, LONG);
afterAll(async () => {
  await h?.cleanup();
});

const buildDir = (ws: string): string => path.join(ws, 'project', 'build');

describe('a clean hello_world build for esp32c3 with real ESP-IDF in the bwrap sandbox', () => {
  it('reports the store inventory as ESP-IDF 5.1.6 for esp32c3 and esp32', async () => {
    expect(await h.backend.inventory()).toMatchObject({ idfVersions: [IDF_VERSION], targets: ['esp32c3', 'esp32'] });
  });

  it('succeeds, streams the real ninja log and signs a bundle that verifies', async () => {
    const { out, log } = clean;
    expect(out.error, log.text().slice(-3000)).toBeUndefined();
    expect(out).toMatchObject({ state: 'succeeded', exitCode: 0, target: 'esp32c3', idfVersion: IDF_VERSION });
    expect(log.text()).toContain('with ESP-IDF 5.1.6 in a bubblewrap sandbox');
    expect(log.text()).toContain('Setting target esp32c3.');
    // ESP-IDF's CMake found ccache in the sandbox and compiles through it (the machine's compiler cache).
    expect(log.text()).toContain('ccache will be used for faster recompilation');
    const work = ninjaWork(log.text());
    expect(work).toContain('Building C object esp-idf/main/CMakeFiles/__idf_main.dir/hello_world_main.c.obj');
    expect(work).toContain('Linking CXX executable hello_world.elf');
    // the whole of ESP-IDF was compiled, not a stand-in
    expect(work.length).toBeGreaterThan(500);

    const dir = out.artifactsDir as string;
    const manifestBytes = await readFile(path.join(dir, 'bundle/manifest.json'));
    const jws = await readFile(path.join(dir, 'bundle/manifest.jws'), 'utf8');
    const verified = await compactVerify(jws, h.publicKey);
    expect(verified.protectedHeader).toMatchObject({ alg: 'EdDSA', kid: h.kid });
    expect(Buffer.from(verified.payload).equals(manifestBytes)).toBe(true);
    const manifest = FlashBundleManifest.parse(JSON.parse(manifestBytes.toString('utf8')));
    expect(manifest).toMatchObject({ project: 'hello_world', chip: 'esp32c3', idf_version: IDF_VERSION });
    // sdkconfig.defaults chose 4 MB; ESP-IDF's own default would be 2 MB
    expect(manifest.flash).toMatchObject({ size: '4MB', mode: 'dio', freq: '80m' });

    // the client's own check (libs/esp) with the machine's public JWK accepts it, sha256 of every part included
    expect(h.backend.bundlePublicJwk()).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    const checked = await verifyBundleManifest(
      new Uint8Array(manifestBytes),
      jws,
      h.publicKey.export({ format: 'jwk' }),
    );
    const files = new Map<string, Uint8Array>();
    for (const part of checked.parts)
      files.set(part.file, new Uint8Array(await readFile(path.join(dir, 'bundle', part.file))));
    expect(() => verifyBundleFiles(checked, files)).not.toThrow();
    for (const a of out.artifacts) expect(sha256(await readFile(path.join(dir, a.name)))).toBe(a.sha256);
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
  });

  it('takes the offsets from the build’s flasher_args.json', async () => {
    const flasher = parseFlasherArgs(
      JSON.parse(await readFile(path.join(buildDir(clean.ws), 'flasher_args.json'), 'utf8')),
    );
    const manifest = (await bundlePart(clean.out, 'app')).manifest;
    const byName = Object.fromEntries(manifest.parts.map((p) => [p.name, p.offset]));
    expect(flasher.entries.length).toBeGreaterThanOrEqual(3);
    for (const e of flasher.entries) expect(byName[e.name], e.name).toBe(e.offset);
    expect(byName).toMatchObject({ bootloader: 0x0, 'partition-table': 0x8000, app: 0x10000 });
    expect(flasher.chip).toBe('esp32c3');
  });

  it('its images parse back with libs/esp: app header + esp_app_desc, bootloader, partition table', async () => {
    const app = await bundlePart(clean.out, 'app');
    const image = readAppImage(new Uint8Array(app.bytes));
    expect(isImageValid(image)).toBe(true);
    expect(image.sha256?.valid).toBe(true);
    expect(image.header.chip).toBe('esp32c3');
    expect(image.header.flashSize).toBe('4MB');
    expect(image.appDesc).toMatchObject({ projectName: 'hello_world', idfVersion: 'v5.1.6' });
    const elf = await readFile(path.join(clean.out.artifactsDir!, 'hello_world.elf'));
    expect(image.appDesc?.elfSha256).toBe(sha256(elf));
    expect(clean.out.sizes?.app).toBe(app.bytes.length);

    const boot = readAppImage(new Uint8Array((await bundlePart(clean.out, 'bootloader')).bytes));
    expect(isImageValid(boot)).toBe(true);
    expect(boot.header.chip).toBe('esp32c3');

    const table = parsePartitionBinary(new Uint8Array((await bundlePart(clean.out, 'partition-table')).bytes));
    expect(table.md5Valid).toBe(true);
    const factory = table.partitions.find((p) => p.name === 'factory');
    expect(factory?.offset).toBe(app.offset);
    expect(factory!.size).toBeGreaterThanOrEqual(app.bytes.length);
    expect(table.partitions.map((p) => p.name)).toEqual(expect.arrayContaining(['nvs', 'phy_init', 'factory']));

    const dir = clean.out.artifactsDir!;
    const web = EspWebToolsManifest.parse(
      JSON.parse(await readFile(path.join(dir, 'bundle/web-manifest.json'), 'utf8')),
    );
    expect(web.builds[0].chipFamily).toBe('ESP32-C3');
    expect(web.builds[0].parts).toContainEqual({ path: expect.stringContaining('hello_world'), offset: 0x10000 });
    const merged = await readFile(path.join(dir, 'merged.bin'));
    for (const part of app.manifest.parts) {
      const bytes = await readFile(path.join(dir, 'bundle', part.file));
      expect(merged.subarray(part.offset, part.offset + part.size).equals(bytes), part.name).toBe(true);
    }
  });

  it('carries the real size report (size.json) and the per-component and per-file tables', async () => {
    const text = await readFile(path.join(clean.out.artifactsDir!, 'size.json'), 'utf8');
    const size = JSON.parse(text) as Record<string, number>;
    const report = parseSizeReport(size);
    expect(report).toBeDefined();
    expect(size.total_size ?? 0).toBeGreaterThan(50_000);
    expect(await h.backend.size(clean.ws)).toEqual(size);
    const archives = (await h.backend.size(clean.ws, 'components')) as Record<string, unknown>;
    expect(Object.keys(archives)).toEqual(expect.arrayContaining(['libmain.a', 'libfreertos.a']));
    const objects = (await h.backend.size(clean.ws, 'files')) as Record<string, unknown>;
    // idf.py size-files names each object as <archive>:<object>.
    expect(Object.keys(objects)).toContain('libmain.a:hello_world_main.c.obj');
  });

  it('writes an SBOM naming ESP-IDF 5.1.6 and the built images by sha256', async () => {
    const dir = clean.out.artifactsDir!;
    const sbom = SpdxDocument.parse(JSON.parse(await readFile(path.join(dir, 'sbom.json'), 'utf8')));
    const pk = Object.fromEntries(sbom.packages.map((p) => [p.name, p]));
    expect(pk['esp-idf']?.versionInfo).toMatch(/^v?5\.1\.6$/);
    const app = readAppImage(new Uint8Array((await bundlePart(clean.out, 'app')).bytes));
    expect(pk.hello_world.versionInfo).toBe(app.appDesc?.version);
    const files = Object.fromEntries(sbom.files.map((f) => [f.fileName, f.checksums[0].checksumValue]));
    for (const a of clean.out.artifacts.filter((x) => ['image', 'merged', 'elf'].includes(x.kind)))
      expect(files[`./${a.name}`]).toBe(a.sha256);
  });

  it('decodes addresses with the store’s addr2line', async () => {
    const nm = execFileSync(
      path.join(h.storeRoot, 'idf', IDF_VERSION, 'tools/riscv32-esp-elf/bin/riscv32-esp-elf-nm'),
      [path.join(clean.out.artifactsDir!, 'hello_world.elf')],
      { encoding: 'utf8' },
    );
    const appMain = /^([0-9a-f]+) T app_main$/m.exec(nm)?.[1];
    expect(appMain).toBeDefined();
    const frames = await h.backend.decode(clean.ws, [`0x${appMain}`, '0x00000004']);
    expect(frames[0]).toMatchObject({ function: 'app_main', line: expect.any(Number) });
    expect(frames[0].file).toMatch(/hello_world_main\.c$/);
    expect(frames[1]).toMatchObject({ function: null, file: null, line: null });
    await expect(h.backend.decode(clean.ws, ['not-an-address'])).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

/** The bundle step on its own, fed the clean build's real output directory (no build of its own). */
describe('flash bundle from a build directory', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const input = (projectDir: string, artifactsDir: string) => ({
    projectDir,
    artifactsDir,
    target: 'esp32c3' as const,
    idfVersion: IDF_VERSION,
    jobId: 'j',
    signingKey: { kid: 'k', privateKey },
    now: new Date(),
  });
  const OUTPUTS = [
    'flasher_args.json',
    'project_description.json',
    'bootloader/bootloader.bin',
    'partition_table/partition-table.bin',
    'hello_world.bin',
    'hello_world.elf',
    'hello_world.map',
  ];

  it('bundles a plain build directory', async () => {
    const project = path.join(h.root, 'bundle-ok', 'project');
    for (const f of OUTPUTS) {
      await mkdir(path.dirname(path.join(project, 'build', f)), { recursive: true });
      await cp(path.join(buildDir(clean.ws), f), path.join(project, 'build', f));
    }
    const made = await makeArtifacts(input(project, path.join(h.root, 'bundle-ok', 'artifacts')));
    expect(made.projectName).toBe('hello_world');
    expect(made.sizes.app).toBe(clean.out.sizes?.app);
  });

  it("refuses a build/ that is a link (it could point at another job's firmware)", async () => {
    const project = path.join(h.root, 'bundle-link', 'project');
    await mkdir(project, { recursive: true });
    await symlink(buildDir(clean.ws), path.join(project, 'build'));
    await expect(makeArtifacts(input(project, path.join(h.root, 'bundle-link', 'artifacts')))).rejects.toMatchObject({
      code: 'bundle_failed',
    });
  });

  it('skips files that are links leaving the build directory', async () => {
    const project = path.join(h.root, 'bundle-filelink', 'project');
    await mkdir(path.join(project, 'build'), { recursive: true });
    for (const f of ['flasher_args.json', 'project_description.json'])
      await cp(path.join(buildDir(clean.ws), f), path.join(project, 'build', f));
    for (const f of ['hello_world.bin', 'bootloader', 'partition_table'])
      await symlink(path.join(buildDir(clean.ws), f), path.join(project, 'build', f));
    await expect(
      makeArtifacts(input(project, path.join(h.root, 'bundle-filelink', 'artifacts'))),
    ).rejects.toMatchObject({ code: 'bundle_failed', message: expect.stringContaining('missing') });
  });
});

/**
 * Later uploads of the same project by the same user: a fresh workspace each time (as for a new job), the cached
 * state (build/, sdkconfig, source stamps) restored, real ninja deciding by mtimes.
 */
describe('incremental builds across uploads with real ninja', () => {
  const appSha = async (out: BuildOutcome): Promise<string> => sha256((await bundlePart(out, 'app')).bytes);
  const edited = (text: string): string => text.replace('Hello world!', 'Hello again!');

  it(
    'an unchanged re-upload compiles nothing and yields the identical app image',
    async () => {
      const { req, log } = request(await workspace(h, HELLO), { target: 'esp32c3', userId: USER });
      const out = await timedBuild(h.backend, req, 'unchanged re-upload');
      expect(out.state, log.text().slice(-3000)).toBe('succeeded');
      expect(log.text()).toContain('Restored the incremental build state of the previous build.');
      expect(ninjaWork(log.text())).toEqual([]);
      // Real ESP-IDF has no "no work to do" at the top: its always-run steps (the app and bootloader size checks,
      // the bootloader subproject's wrapper) run on every build. Nothing else may: at most those 4 steps.
      const totals = [...log.text().matchAll(/^\[\d+\/(\d+)\] /gm)].map((m) => Number(m[1]));
      expect(Math.max(...totals)).toBeLessThanOrEqual(4);
      expect(await appSha(out)).toBe(await appSha(clean.out));
    },
    LONG,
  );

  it(
    'one edited .c — uploaded with an OLD mtime — recompiles exactly that file and relinks; the image differs',
    async () => {
      const longAgo = new Date(Date.now() - 365 * 24 * 3600_000);
      const files = { ...HELLO, [MAIN]: edited(HELLO[MAIN]) };
      const { req, log } = request(await workspace(h, files, { [MAIN]: longAgo }), {
        target: 'esp32c3',
        userId: USER,
      });
      const out = await timedBuild(h.backend, req, 'one edited .c');
      expect(out.state, log.text().slice(-3000)).toBe('succeeded');
      expect(ninjaWork(log.text())).toEqual([
        'Building C object esp-idf/main/CMakeFiles/__idf_main.dir/hello_world_main.c.obj',
        'Linking C static library esp-idf/main/libmain.a',
        'Linking CXX executable hello_world.elf',
      ]);
      const app = await bundlePart(out, 'app');
      expect(sha256(app.bytes)).not.toBe(await appSha(clean.out));
      expect(app.bytes.includes(Buffer.from('Hello again!'))).toBe(true);
      expect(app.bytes.includes(Buffer.from('Hello world!'))).toBe(false);
      expect(isImageValid(readAppImage(new Uint8Array(app.bytes)))).toBe(true);
    },
    LONG,
  );

  it(
    'a real compile error fails the build with the gcc diagnostic (file:line) in the outcome',
    async () => {
      const lines = HELLO[MAIN].split('\n');
      const at = lines.findIndex((l) => l.includes('Hello world!')) + 1;
      lines.splice(at, 0, '    int broken = ;');
      const { req, log } = request(await workspace(h, { ...HELLO, [MAIN]: lines.join('\n') }), {
        target: 'esp32c3',
        userId: USER,
      });
      const out = await timedBuild(h.backend, req, 'compile error');
      expect(out.state).toBe('failed');
      expect(out.error?.code).toBe('build_failed');
      expect(out.exitCode).not.toBe(0);
      expect(out.artifacts).toEqual([]);
      const diag = log.lines.find((l) =>
        /hello_world_main\.c:\d+:\d+: error: expected expression before ';' token/.test(l.text),
      );
      // ninja relays the compiler's output on its own stdout
      expect(diag).toBeDefined();
      expect(out.error?.message).toMatch(
        new RegExp(`hello_world_main\\.c:${at + 1}: expected expression before ';' token`),
      );
      expect(out.error?.details).toMatchObject({
        diagnostics: [
          expect.objectContaining({
            severity: 'error',
            line: at + 1,
            file: expect.stringMatching(/hello_world_main\.c$/),
          }),
        ],
      });
    },
    LONG,
  );

  it(
    'a real CMake error fails the build and the outcome says where and why',
    async () => {
      // a typo in the project's CMakeLists.txt, as people make them
      const cmake = HELLO['CMakeLists.txt'].replace('project(hello_world)', 'projct(hello_world)');
      const line = cmake.split('\n').findIndex((l) => l.startsWith('projct(')) + 1;
      const { req, log } = request(await workspace(h, { ...HELLO, 'CMakeLists.txt': cmake }), {
        target: 'esp32c3',
        userId: USER,
      });
      const out = await timedBuild(h.backend, req, 'CMake error');
      expect(out.state).toBe('failed');
      expect(out.error?.code).toBe('build_failed');
      expect(out.artifacts).toEqual([]);
      expect(log.text()).toContain(`CMake Error at CMakeLists.txt:${line} (projct):`);
      expect(out.error?.message).toMatch(new RegExp(`CMakeLists\\.txt:${line}: .*Unknown CMake command "projct"`));
      expect(out.error?.details).toMatchObject({
        diagnostics: [expect.objectContaining({ severity: 'error', line, file: 'CMakeLists.txt' })],
      });
    },
    LONG,
  );

  it(
    'another target (esp32, Xtensa, from .espctl.toml) is a full rebuild with an esp32 image',
    async () => {
      const files = { ...HELLO, '.espctl.toml': '[build]\ntarget = "esp32"\n' };
      const { req, log } = request(await workspace(h, files), { userId: USER });
      const out = await timedBuild(h.backend, req, 'target switch to esp32 (clean)');
      expect(out.error, log.text().slice(-3000)).toBeUndefined();
      expect(out).toMatchObject({ state: 'succeeded', target: 'esp32' });
      expect(log.text()).toContain('Setting target esp32.');
      expect(log.text()).not.toContain('Restored the incremental build state');
      const work = ninjaWork(log.text());
      expect(work.length).toBeGreaterThan(500);
      expect(work).toContain('Building C object esp-idf/main/CMakeFiles/__idf_main.dir/hello_world_main.c.obj');
      const app = await bundlePart(out, 'app');
      expect(app.manifest.chip).toBe('esp32');
      const image = readAppImage(new Uint8Array(app.bytes));
      expect(isImageValid(image)).toBe(true);
      expect(image.header.chip).toBe('esp32');
      expect(sha256(app.bytes)).not.toBe(await appSha(clean.out));
      // the ESP32 ROM loads its bootloader at 0x1000, as flasher_args.json says
      const boot = await bundlePart(out, 'bootloader');
      expect(boot.offset).toBe(0x1000);
      expect(readAppImage(new Uint8Array(boot.bytes)).header.chip).toBe('esp32');
    },
    LONG,
  );

  it(
    'a profile uses sdkconfig.defaults.<profile> and keeps its own cache entry',
    async () => {
      const build = async (profile?: 'release') => {
        const { req, log } = request(await workspace(h, HELLO), { target: 'esp32c3', userId: USER, profile });
        const out = await timedBuild(h.backend, req, `profile ${profile ?? 'default'}`);
        expect(out.state, log.text().slice(-3000)).toBe('succeeded');
        return { out, log, flash: (await bundlePart(out, 'app')).manifest.flash.size };
      };
      const release = await build('release');
      expect(release.flash).toBe('8MB');
      expect(readAppImage(new Uint8Array((await bundlePart(release.out, 'app')).bytes)).header.flashSize).toBe('8MB');
      const plain = await build();
      expect(plain.flash).toBe('4MB');
      const again = await build('release');
      expect(again.flash).toBe('8MB');
      expect(ninjaWork(again.log.text())).toEqual([]);
    },
    LONG,
  );

  it(
    'builds of different jobs run in parallel',
    async () => {
      const jobs = await Promise.all(
        [1, 2, 3].map(async () => request(await workspace(h, HELLO), { target: 'esp32c3', userId: USER })),
      );
      const outs = await Promise.all(jobs.map((j) => h.backend.build(j.req)));
      expect(outs.map((o) => o.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      const shas = await Promise.all(outs.map(appSha));
      expect(new Set(shas).size).toBe(1);
    },
    LONG,
  );
});

describe('clear errors', () => {
  it('unknown IDF version lists the available ones', async () => {
    const { req, log } = request(await workspace(h, HELLO), { idfVersion: '5.9.9' });
    const out = await h.backend.build(req);
    expect(out.state).toBe('failed');
    expect(out.error?.code).toBe('unknown_idf_version');
    expect(out.error?.message).toContain('5.9.9');
    expect(out.error?.message).toContain(IDF_VERSION);
    expect(log.text()).toContain('5.9.9');
  });

  it('IDF version from .idf-version and .espctl.toml', async () => {
    const a = request(await workspace(h, { ...HELLO, '.idf-version': '4.4\n' }));
    expect((await h.backend.build(a.req)).error?.message).toMatch(/ESP-IDF 4\.4 \(from \.idf-version\)/);
    const b = request(await workspace(h, { ...HELLO, '.espctl.toml': '[build]\nidf_version = "5.1"\n' }));
    expect((await h.backend.build(b.req)).error?.message).toMatch(/ESP-IDF 5\.1 \(from \.espctl\.toml\)/);
    const c = request(await workspace(h, { ...HELLO, '.espctl.toml': '[build]\ntarget = 42\n' }));
    expect((await h.backend.build(c.req)).error?.code).toBe('invalid_project_config');
  });

  it('unknown target says what the store builds for', async () => {
    const { req } = request(await workspace(h, HELLO), { target: 'esp32s3' });
    const out = await h.backend.build(req);
    expect(out.state).toBe('failed');
    expect(out.error?.code).toBe('unknown_target');
    expect(out.error?.message).toMatch(/esp32s3.*5\.1\.6.*esp32c3, esp32/);
  });

  it('a missing project is a clear error', async () => {
    const { req } = request(path.join(h.root, 'no-such-ws'));
    const out = await h.backend.build(req);
    expect(out.error?.code).toBe('project_missing');
  });

  it('cancel stops the build and every process it started', async () => {
    // CMake runs execute_process while configuring, before ESP-IDF's project.cmake is even included.
    const ws = await workspace(h, {
      ...HELLO,
      'CMakeLists.txt': `cmake_minimum_required(VERSION 3.16)\nexecute_process(COMMAND sleep 607)\n${HELLO['CMakeLists.txt']}`,
    });
    const { req, abort } = request(ws, { target: 'esp32c3' });
    const p = h.backend.build(req);
    for (let i = 0; i < 1200 && sandboxProcesses('sleep\u0000607') === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(sandboxProcesses('sleep\u0000607')).toBe(1);
    abort.abort();
    const out = await p;
    expect(out.state).toBe('canceled');
    expect(out.artifacts).toEqual([]);
    expect(sandboxProcesses('sleep\u0000607')).toBe(0);
  }, 120_000);

  it(
    'runs with a private (0700) machine directory and keeps its bundle key across restarts',
    async () => {
      const workDir = path.join(h.root, 'machine-state');
      await mkdir(workDir, { mode: 0o700 });
      // the warm cache of this file, so both builds are incremental
      const first = await createBuildBackend({
        storeRoot: h.storeRoot,
        sandbox: 'bwrap',
        workDir,
        cacheDir: h.cacheDir,
      });
      const { req, log } = request(await workspace(h, HELLO), { target: 'esp32c3', userId: USER });
      const out = await first.build(req);
      expect(out.error, log.text().slice(-2000)).toBeUndefined();
      const dir = out.artifactsDir!;
      const manifestBytes = new Uint8Array(await readFile(path.join(dir, 'bundle/manifest.json')));
      const jws = await readFile(path.join(dir, 'bundle/manifest.jws'), 'utf8');
      await expect(verifyBundleManifest(manifestBytes, jws, first.bundlePublicJwk())).resolves.toMatchObject({
        project: 'hello_world',
      });
      first.setMachineId('0b7c6c1e-6f7e-4a57-9d43-9d1c1c7b9c11');
      const again = request(await workspace(h, HELLO), { target: 'esp32c3', userId: USER });
      const out2 = await first.build(again.req);
      const m2 = JSON.parse(await readFile(path.join(out2.artifactsDir!, 'bundle/manifest.json'), 'utf8'));
      expect(m2.machine_id).toBe('0b7c6c1e-6f7e-4a57-9d43-9d1c1c7b9c11');
      const second = await createBuildBackend({ storeRoot: h.storeRoot, sandbox: 'bwrap', workDir });
      expect(second.bundlePublicJwk()).toEqual(first.bundlePublicJwk());
      expect((await stat(path.join(workDir, 'bundle-signing-key.pem'))).mode & 0o777).toBe(0o600);
    },
    LONG,
  );

  it('an IDF whose export script fails says so, with its output', async () => {
    // a store that passes its checksums but whose export script fails (e.g. a half-finished install.sh)
    const broken = await fakeStore(path.join(h.root, 'broken-store'), {
      exportScript: 'echo "ERROR: tool xtensa-esp-elf has no installed versions" >&2\nfalse\n',
    });
    const backend = await createBuildBackend({
      storeRoot: broken.root,
      sandbox: 'bwrap',
      workDir: path.join(h.root, 'broken-work'),
    });
    const { req, log } = request(await workspace(h, HELLO), { target: 'esp32c3' });
    const out = await backend.build(req);
    expect(out.state).toBe('failed');
    expect(log.text()).toContain('tool xtensa-esp-elf has no installed versions');
    expect(log.text()).toContain('export.sh failed');
  });
});
