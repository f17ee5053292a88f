import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpdxDocument, type StoreIdfVersion } from '@aegis/protocol';
import { makeSbom } from '../../src/build/sbom.js';

/** Real ESP-IDF v5.1.6 outputs of hello_world for esp32c3 (libs/esp/test/fixtures/…/README.md). */
const FIXTURES = join(import.meta.dirname, '../../../../libs/esp/test/fixtures/idf-5.1.6-hello_world/esp32c3');
const build = {
  projectDescription: readFileSync(join(FIXTURES, 'project_description.json'), 'utf8'),
  map: readFileSync(join(FIXTURES, 'hello_world.map.excerpt.txt'), 'utf8'),
};
const version: StoreIdfVersion = {
  version: '5.1.6',
  path: 'idf/5.1.6',
  commit: '7452b1cb',
  default: true,
  targets: ['esp32c3', 'esp32'],
  tools: [],
};
// An empty project: every component in these SBOMs comes from the build's outputs.
const projectDir = mkdtempSync(join(os.tmpdir(), 'aegis-sbom-build-'));
const sbom = (o: Partial<Parameters<typeof makeSbom>[0]>) =>
  SpdxDocument.parse(
    makeSbom({
      jobId: 'job-1',
      projectDir,
      target: 'esp32c3',
      artifacts: [],
      now: new Date('2026-01-01T00:00:00Z'),
      ...o,
    }),
  );

describe('SBOM from the real component list of the build', () => {
  it('lists the ESP-IDF components the image linked, inside ESP-IDF, at its version', () => {
    const doc = sbom({ version, build });
    const idf = doc.packages.find((p) => p.name === 'esp-idf')!;
    const freertos = doc.packages.find((p) => p.name === 'freertos')!;
    expect(freertos).toMatchObject({
      versionInfo: '5.1.6',
      downloadLocation: 'git+https://github.com/espressif/esp-idf.git@v5.1.6#components/freertos',
      supplier: 'Organization: Espressif Systems',
    });
    expect(doc.relationships).toContainEqual({
      spdxElementId: idf.SPDXID,
      relationshipType: 'CONTAINS',
      relatedSpdxElement: freertos.SPDXID,
    });
    const names = doc.packages.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['mbedtls', 'esp_system', 'newlib', 'spi_flash']));
    // Built by ESP-IDF for every project, but nothing of them is in hello_world's image.
    for (const unused of ['esp_wifi', 'esp_http_server', 'wifi_provisioning', 'esp_pm'])
      expect(names).not.toContain(unused);
  });

  it('without a map, every ESP-IDF component that builds a library; with none of the outputs, none', () => {
    const all = sbom({ version, build: { projectDescription: build.projectDescription } }).packages.map((p) => p.name);
    expect(all).toContain('esp_wifi');
    const none = sbom({ version }).packages.map((p) => p.name);
    expect(none).not.toContain('freertos');
  });
});
