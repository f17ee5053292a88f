import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { linkedArchives, linkedComponents, parseProjectDescription } from '../src/index.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'idf-5.1.6-hello_world', 'esp32c3');
const map = readFileSync(join(FIXTURES, 'hello_world.map.excerpt.txt'), 'utf8');
const desc = parseProjectDescription(readFileSync(join(FIXTURES, 'project_description.json'), 'utf8'));

describe('linker map of a real ESP-IDF v5.1.6 build (hello_world, esp32c3)', () => {
  it('names the archives the image took members from, not the ones only LOADed', () => {
    const archives = linkedArchives(map);
    expect(archives).toContain('esp-idf/main/libmain.a');
    expect(archives).toContain('esp-idf/freertos/libfreertos.a');
    expect(archives).toContain('esp-idf/mbedtls/mbedtls/library/libmbedcrypto.a');
    expect(archives).toContain('/opt/esp-kit/tools/riscv32-esp-elf/newlib/riscv32-esp-elf/lib/libc.a');
    // LOAD esp-idf/esp_pm/libesp_pm.a is in the map, but hello_world uses nothing of it.
    expect(archives).not.toContain('esp-idf/esp_pm/libesp_pm.a');
    expect(archives).toHaveLength(30);
  });

  it('a library seen only under "Discarded input sections" was not linked', () => {
    const text = [
      'Archive member included to satisfy reference by file (symbol)',
      '',
      'esp-idf/log/liblog.a(log.c.obj)  (esp_log_write)',
      '',
      'Discarded input sections',
      '',
      ' .text.unused   0x00000000  0x10 esp-idf/json/libjson.a(cJSON.c.obj)',
      '',
      'Linker script and memory map',
      '',
      ' .text.app_main 0x42000000  0x20 esp-idf/main/libmain.a(main.c.obj)',
    ].join('\n');
    expect(linkedArchives(text)).toEqual(['esp-idf/log/liblog.a', 'esp-idf/main/libmain.a']);
  });

  it('maps the linked archives back to components of project_description.json', () => {
    const names = linkedComponents(desc.components, linkedArchives(map)).map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['main', 'freertos', 'mbedtls', 'esp_system', 'newlib']));
    // Built but not linked: no Wi-Fi, no HTTP server, no power management in hello_world.
    for (const unused of ['esp_wifi', 'esp_http_server', 'esp_pm', 'wifi_provisioning'])
      expect(names).not.toContain(unused);
    expect(names.length).toBeLessThan(desc.components.length / 2);
  });
});
