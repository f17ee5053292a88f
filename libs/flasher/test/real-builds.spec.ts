import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBundleManifest, encodeManifest, signBundleManifest } from '@aegis/esp';
import { SimDevice, SimSerialPort, type ChipName } from '@aegis/device-sim';
import { flash, monitor } from '@aegis/flasher';
import { makeKeys, type TestKeys } from './fixtures.js';

/** shared/ sits beside the repository (in CI too); on the dev machines it is /work/shared. */
const REAL_ESP = [
  fileURLToPath(new URL('../../../../shared/testdata/real-esp', import.meta.url)),
  '/work/shared/testdata/real-esp',
].find((p) => existsSync(p))!;

let keys: TestKeys;
beforeAll(async () => {
  keys = await makeKeys();
});

async function realBundle(build: string) {
  const dir = join(REAL_ESP, build, 'build');
  const built = buildBundleManifest({
    flasherArgs: JSON.parse(readFileSync(join(dir, 'flasher_args.json'), 'utf8')),
    projectDescription: readFileSync(join(dir, 'project_description.json'), 'utf8'),
    files: (p) => (existsSync(join(dir, p)) ? new Uint8Array(readFileSync(join(dir, p))) : undefined),
    createdAt: '2026-11-25T09:00:00.000Z',
  });
  const manifestBytes = encodeManifest(built.manifest);
  return {
    manifest: built.manifest,
    manifestBytes,
    jws: await signBundleManifest(manifestBytes, keys.privateKey, 'machine-test'),
    files: new Map(built.files.map((f) => [f.path, f.bytes] as const)),
  };
}

describe('real ESP-IDF builds through the flasher onto the simulator', () => {
  it.each([
    ['136446529__ESP32-BMP180', 'esp32', 'ESP32-BMP180', '2349a35-dirty', 'v4.0.1'],
    ['203Null__esp32-microlight', 'esp32s3', 'main', '1', 'v4.4-dev-3235-g3e370c4296-dirty'],
  ])(
    '%s boots with its own bootloader, partition table and app description',
    async (build, chip, name, version, idf) => {
      expect(REAL_ESP).toBeTruthy();
      const bundle = await realBundle(build);
      expect(bundle.manifest.chip).toBe(chip);
      const device = new SimDevice({ chip: chip as ChipName });
      const port = new SimSerialPort(device);
      const result = await flash({ port, bundle, trust: { publicJwk: keys.publicJwk } });
      expect(result.parts.every((p) => p.mode === 'full')).toBe(true);
      let log = '';
      const m = await monitor(port, { reset: true, onData: (b) => (log += new TextDecoder().decode(b)) });
      for (let i = 0; i < 100 && !log.includes('Calling app_main()'); i++) await new Promise((r) => setTimeout(r, 10));
      await m.stop();
      expect(log).toContain(`boot: ESP-IDF ${idf} 2nd stage bootloader`);
      expect(log).toMatch(/boot: +\d+ factory +factory app +00 00 00010000 /);
      expect(log).toContain(`Project name:     ${name}`);
      expect(log).toContain(`App version:      ${version}`);
      // Reflashing the same bundle writes nothing.
      device.flash.resetStats();
      const again = await flash({ port, bundle, trust: { publicJwk: keys.publicJwk } });
      expect(again.parts.map((p) => p.mode)).toEqual(['unchanged', 'unchanged', 'unchanged']);
      expect(device.flash.stats.writtenSectors.size).toBe(0);
      expect(device.flash.stats.erases).toBe(0);
    },
  );
});
