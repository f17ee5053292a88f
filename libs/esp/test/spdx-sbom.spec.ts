import { describe, expect, it } from 'vitest';
import { SpdxDocument } from '@aegis/protocol';
import { lockedComponents, lockedIdfVersion, makeSpdxSbom, projectComponents } from '../src/index.js';

// As written by the IDF Component Manager 2.x.
const LOCK = `dependencies:
  espressif/led_strip:
    component_hash: 28c6509a727ef74925b372ed404772aeedf11cce10b78c3f69b3c66799095e2d
    dependencies:
    - name: idf
      require: private
      version: '>=4.4'
    source:
      registry_url: https://components.espressif.com/
      type: service
    version: 2.5.5
  example/gitcomp:
    source:
      git: https://github.com/example/gitcomp.git
      path: .
      type: git
    version: 1a2b3c4
  idf:
    source:
      type: idf
    version: 5.3.1
direct_dependencies:
- espressif/led_strip
- idf
manifest_hash: 0123
target: esp32c3
version: 2.0.0
`;

const FILES: Record<string, string> = {
  'CMakeLists.txt': 'project(demo)\n',
  'main/main.c': 'void app_main(void) {}\n',
  'main/idf_component.yml':
    'dependencies:\n  espressif/led_strip: "^2.5.0"\n  cjson: {version: "~1.7"}\n  idf: ">=5.0"\n',
  'components/sensor/sensor.c': '',
  'components/sensor/idf_component.yml': 'version: "0.3.0"\nlicense: "MIT"\n',
  'dependencies.lock': LOCK,
};
const read = (p: string) => FILES[p];
const SHA = 'ab'.repeat(32);

describe('projectComponents', () => {
  it('finds main, components/* and managed components, exact versions from the lock', () => {
    const cs = projectComponents(Object.keys(FILES), read);
    expect(cs).toEqual([
      { name: 'main', source: 'local', version: undefined, license: undefined },
      { name: 'sensor', source: 'local', version: '0.3.0', license: 'MIT' },
      {
        name: 'espressif/led_strip',
        version: '2.5.5',
        source: 'managed',
        downloadLocation: 'https://components.espressif.com/components/espressif/led_strip',
      },
      {
        name: 'example/gitcomp',
        version: '1a2b3c4',
        source: 'managed',
        downloadLocation: 'git+https://github.com/example/gitcomp.git',
      },
      // Asked for in idf_component.yml but not locked: the range is what is known.
      {
        name: 'cjson',
        version: '~1.7',
        source: 'managed',
        downloadLocation: 'https://components.espressif.com/components/espressif/cjson',
      },
    ]);
    expect(lockedIdfVersion(LOCK)).toBe('5.3.1');
    expect(lockedComponents('not: a lock\n')).toEqual([]);
  });
});

describe('makeSpdxSbom', () => {
  const doc = makeSpdxSbom({
    project: { name: 'demo', version: '1.2.3' },
    idf: { version: '5.3.1', commit: 'c0ffee' },
    target: 'esp32c3',
    components: projectComponents(Object.keys(FILES), read),
    toolchain: [{ name: 'riscv32-esp-elf-gcc', sha256: SHA }],
    files: [
      { name: 'bundle/files/app.bin', sha256: SHA },
      { name: 'merged.bin', sha256: SHA },
    ],
    creator: 'aegis-machine-0.1.0',
    created: new Date('2026-01-02T03:04:05.678Z'),
    uniqueId: 'job-1',
  });

  it('is a valid SPDX 2.3 document of the subset we emit', () => {
    expect(SpdxDocument.parse(doc)).toEqual(doc);
    expect(doc).toMatchObject({
      spdxVersion: 'SPDX-2.3',
      dataLicense: 'CC0-1.0',
      SPDXID: 'SPDXRef-DOCUMENT',
      documentNamespace: 'https://spdx.aegis.invalid/demo/job-1',
      creationInfo: { created: '2026-01-02T03:04:05Z', creators: ['Tool: aegis-machine-0.1.0'] },
    });
  });

  it('lists project, ESP-IDF, components and toolchain with versions; images by sha256', () => {
    const byName = Object.fromEntries(doc.packages.map((p) => [p.name, p]));
    expect(byName.demo.versionInfo).toBe('1.2.3');
    expect(byName['esp-idf']).toMatchObject({ versionInfo: '5.3.1', licenseDeclared: 'Apache-2.0' });
    expect(byName.main).toMatchObject({ versionInfo: 'NOASSERTION', downloadLocation: 'NOASSERTION' });
    expect(byName.sensor).toMatchObject({ versionInfo: '0.3.0', licenseDeclared: 'MIT' });
    expect(byName['espressif/led_strip'].versionInfo).toBe('2.5.5');
    expect(byName['riscv32-esp-elf-gcc'].checksums).toEqual([{ algorithm: 'SHA256', checksumValue: SHA }]);
    expect(doc.files.map((f) => f.fileName)).toEqual(['./bundle/files/app.bin', './merged.bin']);
    const rel = (a: string, t: string, b: string) =>
      doc.relationships.some((r) => r.spdxElementId === a && r.relationshipType === t && r.relatedSpdxElement === b);
    const id = (n: string) => byName[n].SPDXID;
    expect(rel('SPDXRef-DOCUMENT', 'DESCRIBES', id('demo'))).toBe(true);
    expect(rel(id('demo'), 'CONTAINS', id('sensor'))).toBe(true);
    expect(rel(id('demo'), 'DEPENDS_ON', id('espressif/led_strip'))).toBe(true);
    expect(rel(id('demo'), 'DEPENDS_ON', id('esp-idf'))).toBe(true);
    expect(rel(id('demo'), 'CONTAINS', doc.files[0].SPDXID)).toBe(true);
  });

  it('gives each document its own namespace', () => {
    const base = {
      project: { name: 'x' },
      components: [],
      toolchain: [],
      files: [],
      creator: 't',
      created: new Date(),
    };
    const a = makeSpdxSbom({ ...base, idf: { version: '5.1.6' } });
    const b = makeSpdxSbom(base);
    expect(a.documentNamespace).not.toBe(b.documentNamespace);
    expect(a.packages.map((p) => p.name)).toEqual(['x', 'esp-idf']);
    expect(SpdxDocument.parse(b).packages[0].versionInfo).toBe('NOASSERTION');
  });
});
