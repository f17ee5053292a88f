import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LED_BOARDS,
  TEMPLATE_NAMES,
  TEMPLATE_TARGETS,
  parseFlasherArgs,
  parseProjectDescription,
  parseSizeReport,
  readAppImage,
  renderProjectTemplate,
  type TemplateName,
} from '../src/index.js';
import { TEST_IDF_DIR, ensureKit, runInKit } from './idf-kit.js';

/**
 * Every template, built for every kit target with the real ESP-IDF v5.1.6 (idf.py from the offline kit), then read
 * back with libs/esp. A missing kit fails here (never a skip). ccache (in TEST_IDF_DIR) shares the ESP-IDF
 * components between the builds, so only the first build per target compiles them.
 */
const runDir = path.join(TEST_IDF_DIR, 'builds', `run-${process.pid}`);
let kit: string;

beforeAll(() => {
  kit = ensureKit();
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
}, 300_000);

afterAll(() => rmSync(runDir, { recursive: true, force: true }));

/** The board each blink build uses, so the test sees its pin reach sdkconfig. */
const blinkBoard = (target: string) => LED_BOARDS.find((b) => b.target === target)!;

describe.each(TEMPLATE_TARGETS)('templates built with real ESP-IDF v5.1.6 for %s', (target) => {
  it.each(TEMPLATE_NAMES.map((t) => [t]))(
    '%s builds, and its image, flasher_args.json, project_description.json and size are read back',
    async (template: TemplateName) => {
      const name = `app_${template}`;
      const proj = path.join(runDir, `${template}-${target}`);
      const board = template === 'blink' ? blinkBoard(target) : undefined;
      const files = renderProjectTemplate(template, { name, target, ...(board ? { board: board.id } : {}) });
      for (const [rel, text] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(proj, rel)), { recursive: true });
        writeFileSync(path.join(proj, rel), text);
      }
      const started = Date.now();
      const build = await runInKit(kit, proj, `idf.py set-target ${target} build && idf.py size --format json`);
      console.log(`${template} ${target}: build + size ${((Date.now() - started) / 1000).toFixed(1)} s`);
      expect(build.code, `${template} for ${target}:\n${(build.stdout + build.stderr).slice(-4000)}`).toBe(0);

      const out = (rel: string) => readFileSync(path.join(proj, 'build', rel));
      const args = parseFlasherArgs(out('flasher_args.json').toString());
      expect(args.chip).toBe(target);
      expect(args.entries.map((e) => e.name)).toEqual(['bootloader', 'partition-table', 'app']);
      const app = readAppImage(new Uint8Array(out(`${name}.bin`)));
      expect(app.header.chip).toBe(target);
      expect(app.appDesc?.projectName).toBe(name);
      expect(app.appDesc?.idfVersion).toBe('v5.1.6');

      const desc = parseProjectDescription(out('project_description.json').toString());
      expect(desc).toMatchObject({ projectName: name, target, idfVersion: 'v5.1.6', appElf: `${name}.elf` });
      expect(desc.components.find((c) => c.name === 'main')?.source).toBe('project');

      // idf.py size prints the build log before the JSON; the parser must still find the numbers.
      const size = parseSizeReport(build.stdout.slice(build.stdout.lastIndexOf('Executing action: size')));
      expect(size.flash.used).toBeGreaterThan(10_000);
      expect(size.ram.used).toBeGreaterThan(1_000);

      const sdkconfig = readFileSync(path.join(proj, 'sdkconfig'), 'utf8');
      if (board) {
        // The board's pin came from sdkconfig.defaults.<target> through Kconfig, where menuconfig can change it.
        expect(sdkconfig).toContain(`CONFIG_BLINK_GPIO=${board.gpio}\n`);
        expect(sdkconfig).toContain('CONFIG_BLINK_PERIOD_MS=1000\n');
      }
      if (template === 'hello_cpp') expect(sdkconfig).toContain('# CONFIG_COMPILER_CXX_EXCEPTIONS is not set');
    },
    600_000,
  );
});
