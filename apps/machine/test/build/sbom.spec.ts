import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpdxDocument, type StoreIdfVersion } from '@aegis/protocol';
import { makeSbom } from '../../src/build/sbom.js';

const SHA = 'cd'.repeat(32);
let dir: string;
let outside: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aegis-sbom-'));
  outside = await mkdtemp(path.join(os.tmpdir(), 'aegis-sbom-outside-'));
  await mkdir(path.join(dir, 'main'));
  await writeFile(path.join(dir, 'main/app.c'), '');
  await writeFile(path.join(dir, 'main/idf_component.yml'), 'dependencies:\n  espressif/cjson: "^1.7.0"\n');
  await mkdir(path.join(dir, 'components/sensor'), { recursive: true });
  await writeFile(path.join(dir, 'components/sensor/sensor.c'), '');
  await writeFile(path.join(dir, 'components/sensor/idf_component.yml'), 'version: "0.3.0"\nlicense: MIT\n');
  // A lock that is a link out of the project is never read (the machine reads with its own rights).
  await writeFile(
    path.join(outside, 'dependencies.lock'),
    'dependencies:\n  secret/host_file:\n    source:\n      type: service\n    version: 9.9.9\n',
  );
  await symlink(path.join(outside, 'dependencies.lock'), path.join(dir, 'dependencies.lock'));
  // Nor is a component directory that is a link.
  await mkdir(path.join(outside, 'linked'));
  await writeFile(path.join(outside, 'linked/x.c'), '');
  await symlink(path.join(outside, 'linked'), path.join(dir, 'components/linked'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('machine makeSbom (SPDX 2.3 from the workspace)', () => {
  const version: StoreIdfVersion = {
    version: '5.3.1',
    path: 'idf/5.3.1',
    commit: 'abc123',
    default: true,
    targets: ['esp32c3'],
    tools: [{ name: 'riscv32-esp-elf-gcc', path: 'tools/gcc', sha256: SHA }],
  };

  it('lists the app, ESP-IDF, the project components, the store tools and the images; validates', () => {
    const doc = SpdxDocument.parse(
      makeSbom({
        jobId: 'job-1',
        projectDir: dir,
        version,
        target: 'esp32c3',
        artifacts: [
          { name: 'bundle/files/app.bin', size: 10, sha256: SHA, kind: 'image' },
          { name: 'sbom.json', size: 1, sha256: SHA, kind: 'report' },
        ],
        now: new Date('2026-01-01T00:00:00Z'),
      }),
    );
    const pk = Object.fromEntries(doc.packages.map((p) => [p.name, p]));
    expect(Object.keys(pk).sort()).toEqual(
      ['job-job-1', 'esp-idf', 'main', 'sensor', 'espressif/cjson', 'riscv32-esp-elf-gcc'].sort(),
    );
    expect(pk['esp-idf']).toMatchObject({ versionInfo: '5.3.1', comment: 'commit abc123' });
    expect(pk.sensor).toMatchObject({ versionInfo: '0.3.0', licenseDeclared: 'MIT' });
    expect(pk['espressif/cjson'].versionInfo).toBe('^1.7.0');
    expect(doc.files.map((f) => f.fileName)).toEqual(['./bundle/files/app.bin']);
    expect(doc.creationInfo.creators[0]).toMatch(/^Tool: aegis-machine-\d/);
    expect(JSON.stringify(doc)).not.toContain('secret/host_file');
  });

  it('without a store entry: the IDF version given and the toolchain by architecture; a new namespace each time', () => {
    const a = makeSbom({ jobId: 'j', projectDir: dir, idfVersion: '5.2.0', target: 'esp32s3', artifacts: [] });
    const b = makeSbom({ jobId: 'j', projectDir: dir, idfVersion: '5.2.0', target: 'esp32s3', artifacts: [] });
    expect(a.packages.map((p) => p.name)).toContain('xtensa-esp-elf');
    expect(a.documentNamespace).not.toBe(b.documentNamespace);
    expect(a.documentNamespace).toMatch(/^https:\/\/spdx\.aegis\.invalid\/job-j\/[0-9a-f-]{36}$/);
  });
});
