import { renderProjectTemplate } from '@aegis/esp';
import { describe, expect, it } from 'vitest';
import { projectDefaults } from '../src/lib/project/project-files';
import { TEMPLATES, templateFiles } from '../src/lib/project/templates';

const dec = new TextDecoder();

describe('dashboard templates', () => {
  it('are the shared libs/esp set, as tar entries, byte for byte', () => {
    for (const t of TEMPLATES) {
      const entries = templateFiles(t.name, 'esp32');
      const files = Object.fromEntries(entries.map((e) => [e.path, dec.decode(e.data)]));
      expect(files).toEqual(renderProjectTemplate(t.name, { name: t.name, target: 'esp32' }));
    }
  });

  it('fill the form from their .espctl.toml (esp32c3 unless another target is asked for)', () => {
    expect(projectDefaults(templateFiles('hello_world')).target).toBe('esp32c3');
    expect(projectDefaults(templateFiles('nvs_counter', 'esp32')).target).toBe('esp32');
  });

  it('blink takes a board: its LED pin lands in sdkconfig.defaults.<target>', () => {
    const files = templateFiles('blink', 'esp32', 'esp32-devkit-v1');
    const defaults = files.find((f) => f.path === 'sdkconfig.defaults.esp32');
    expect(defaults && dec.decode(defaults.data)).toContain('CONFIG_BLINK_GPIO=2\n');
    expect(files.map((f) => f.path)).toContain('main/Kconfig.projbuild');
  });
});
