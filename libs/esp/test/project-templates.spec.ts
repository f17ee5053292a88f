import { describe, expect, it } from 'vitest';
import { EspFormatError, LED_BOARDS, TEMPLATES, TEMPLATE_NAMES, renderProjectTemplate } from '../src/index.js';

const sourceOf = (files: Record<string, string>) =>
  Object.entries(files).find(([p]) => /^main\/[^/]+\.(c|cpp)$/.test(p))!;

/** The bodies of every loop in a C/C++ source (from the loop keyword to its matching brace). */
function loopBodies(src: string): string[] {
  const bodies: string[] = [];
  for (const m of src.matchAll(/\b(for|while)\s*\(/g)) {
    const open = src.indexOf('{', m.index);
    let depth = 0;
    for (let i = open; i < src.length; i++) {
      if (src[i] === '{') depth++;
      if (src[i] === '}' && --depth === 0) {
        bodies.push(src.slice(open, i + 1));
        break;
      }
    }
  }
  return bodies;
}

const loopHeads = (src: string): string[] => [...src.matchAll(/\b(?:for|while)\s*\([^{]*/g)].map((m) => m[0].trim());

/** The source without comments (a comment may name what the code must not use). */
const code = (src: string): string => src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

describe('project templates (shared by the dashboard and espctl)', () => {
  it('lists every template once, with a description', () => {
    expect(TEMPLATES.map((t) => t.name)).toEqual([...TEMPLATE_NAMES]);
    for (const t of TEMPLATES) expect(t.description.length).toBeGreaterThan(5);
  });

  it.each(TEMPLATE_NAMES.map((t) => [t]))('%s: ESP-IDF layout named after the project', (t) => {
    const f = renderProjectTemplate(t, { name: 'demo_app', target: 'esp32c3' });
    const [src, text] = sourceOf(f);
    expect(src).toBe(t === 'hello_cpp' ? 'main/demo_app.cpp' : 'main/demo_app.c');
    expect(f['CMakeLists.txt']).toMatch(/^project\(demo_app\)$/m);
    expect(f['CMakeLists.txt']).toContain('include($ENV{IDF_PATH}/tools/cmake/project.cmake)');
    expect(f['main/CMakeLists.txt']).toContain(`idf_component_register(SRCS "${src.slice(5)}"`);
    expect(text).toMatch(t === 'hello_cpp' ? /extern "C" void app_main\(void\)/ : /^void app_main\(void\)$/m);
    expect(f['.espctl.toml']).toBe('[project]\nname = "demo_app"\n\n[build]\ntarget = "esp32c3"\n');
  });

  it.each(TEMPLATE_NAMES.map((t) => [t]))('%s: no chip registers, and every loop yields to FreeRTOS', (t) => {
    const src = code(sourceOf(renderProjectTemplate(t, { name: 'x' }))[1]);
    // A register poke is a cast of an address to a volatile pointer, or a peripheral address literal.
    expect(src).not.toMatch(/volatile\s+\w+\s*\*\s*\)\s*0x|0x[36]00[0-9a-f]{5}|_REG\b|REG_WRITE|REG_READ/i);
    // Every loop of app_main, and every endless loop anywhere, sleeps (vTaskDelay) so the idle task feeds the watchdog.
    const appMain = src.slice(src.search(/void app_main\(void\)/));
    const endless = loopBodies(src).filter((_, i) =>
      /^(for\s*\(\s*;\s*;\s*\)|while\s*\(\s*(1|true)\s*\))/.test(loopHeads(src)[i]),
    );
    for (const body of [...loopBodies(appMain), ...endless])
      expect(body, `a loop in ${t} that does not sleep`).toMatch(/vTaskDelay\(/);
  });

  it('C++ template avoids what the kit has no support for (exceptions, std::thread, std::mutex)', () => {
    const src = code(sourceOf(renderProjectTemplate('hello_cpp', { name: 'x' }))[1]);
    expect(src).not.toMatch(/\b(try|catch|throw)\b|std::(thread|mutex|async)|<thread>|<mutex>/);
  });

  it('blink: LED pin and period in Kconfig, the board pin in sdkconfig.defaults.<target>', () => {
    const f = renderProjectTemplate('blink', { name: 'blinky', board: 'esp32c3-supermini' });
    expect(f['main/Kconfig.projbuild']).toMatch(/config BLINK_GPIO\n\s+int "LED GPIO number"/);
    expect(f['main/Kconfig.projbuild']).toContain('default 8 if IDF_TARGET_ESP32C3');
    expect(f['sdkconfig.defaults']).toContain('CONFIG_BLINK_PERIOD_MS=1000');
    expect(f['sdkconfig.defaults.esp32c3']).toContain('CONFIG_BLINK_GPIO=8\nCONFIG_BLINK_LED_ACTIVE_LOW=y\n');
    expect(f['main/blinky.c']).toContain('gpio_set_level(LED_GPIO');
    // The board names its target when none is given.
    expect(f['.espctl.toml']).toContain('target = "esp32c3"');
    const esp32 = renderProjectTemplate('blink', { name: 'blinky', target: 'esp32', board: 'esp32-devkit-v1' });
    expect(esp32['sdkconfig.defaults.esp32']).toContain(
      'CONFIG_BLINK_GPIO=2\n# CONFIG_BLINK_LED_ACTIVE_LOW is not set',
    );
    expect(esp32['sdkconfig.defaults.esp32c3']).toBeUndefined();
  });

  it('every LED board drives an output-capable, non-flash GPIO of its chip', () => {
    for (const b of LED_BOARDS) {
      if (b.target === 'esp32c3') expect(b.gpio).toBeLessThanOrEqual(21);
      if (b.target === 'esp32') expect(b.gpio < 6 || (b.gpio > 11 && b.gpio <= 33)).toBe(true);
    }
  });

  it('refuses a bad name, an unknown board, a board for another chip or a board on a non-blink template', () => {
    const failure = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e instanceof EspFormatError ? `${e.code}: ${e.message}` : String(e);
      }
      return 'no error';
    };
    expect(failure(() => renderProjectTemplate('hello_world', { name: '1bad name' }))).toMatch(
      /^bad_argument: Project/,
    );
    expect(failure(() => renderProjectTemplate('blink', { name: 'b', board: 'nope' }))).toMatch(/no board 'nope'/);
    expect(
      failure(() => renderProjectTemplate('blink', { name: 'b', target: 'esp32', board: 'esp32c3-supermini' })),
    ).toMatch(/is an esp32c3 board, not esp32/);
    expect(failure(() => renderProjectTemplate('hello_world', { name: 'b', board: 'esp32-devkitc' }))).toMatch(
      /Only the blink template/,
    );
  });
});
