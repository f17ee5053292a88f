import { readFile } from 'node:fs/promises';
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
} from '@aegis/esp';
import { bundlePart, harness, request, timedBuild, workspace, type Harness } from './helpers.js';

/**
 * Every template (libs/esp, the one set the dashboard and espctl offer), built for every kit target the way a user
 * builds it: through the machine's backend, real ESP-IDF v5.1.6 in the bubblewrap sandbox; then its outputs read
 * back with libs/esp. The machine's compiler cache (shared by the test machines) compiles each ESP-IDF component
 * once per target and sdkconfig, here and in every other suite that builds the same templates.
 */
let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 300_000);
afterAll(async () => {
  await h?.cleanup();
});

/** The board each blink build uses, so the test sees its pin reach sdkconfig. */
const blinkBoard = (target: string) => LED_BOARDS.find((b) => b.target === target)!;

describe.each(TEMPLATE_TARGETS)('templates built with real ESP-IDF v5.1.6 for %s', (target) => {
  it.each(TEMPLATE_NAMES.map((t) => [t]))(
    '%s builds, and its image, flasher_args.json, project_description.json and size are read back',
    async (template: TemplateName) => {
      const name = `app_${template}`;
      const board = template === 'blink' ? blinkBoard(target) : undefined;
      const files = renderProjectTemplate(template, { name, target, ...(board ? { board: board.id } : {}) });
      const ws = await workspace(h, files);
      const { req, log } = request(ws, { target, userId: 'templates' });
      const out = await timedBuild(h.backend, req, `template ${template} for ${target}`);
      expect(out.state, `${template} for ${target}:\n${log.text().slice(-4000)}`).toBe('succeeded');

      const build = (rel: string) => readFile(path.join(ws, 'project', 'build', rel));
      const args = parseFlasherArgs((await build('flasher_args.json')).toString());
      expect(args.chip).toBe(target);
      expect(args.entries.map((e) => e.name)).toEqual(['bootloader', 'partition-table', 'app']);
      const app = readAppImage(new Uint8Array(await build(`${name}.bin`)));
      expect(app.header.chip).toBe(target);
      expect(app.appDesc?.projectName).toBe(name);
      expect(app.appDesc?.idfVersion).toBe('v5.1.6');
      // The signed bundle carries the same app image.
      expect((await bundlePart(out, 'app')).bytes.equals(await build(`${name}.bin`))).toBe(true);

      const desc = parseProjectDescription((await build('project_description.json')).toString());
      expect(desc).toMatchObject({ projectName: name, target, idfVersion: 'v5.1.6', appElf: `${name}.elf` });
      expect(desc.components.find((c) => c.name === 'main')?.source).toBe('project');

      // esp_idf_size's JSON, as the machine made it beside the bundle.
      const size = parseSizeReport(await readFile(path.join(out.artifactsDir!, 'size.json'), 'utf8'));
      expect(size.flash.used).toBeGreaterThan(10_000);
      expect(size.ram.used).toBeGreaterThan(1_000);

      const sdkconfig = await readFile(path.join(ws, 'project', 'sdkconfig'), 'utf8');
      if (board) {
        // The board's pin came from sdkconfig.defaults.<target> through Kconfig, where menuconfig can change it.
        expect(sdkconfig).toContain(`CONFIG_BLINK_GPIO=${board.gpio}\n`);
        expect(sdkconfig).toContain('CONFIG_BLINK_PERIOD_MS=1000\n');
      }
      if (template === 'hello_cpp') expect(sdkconfig).toContain('# CONFIG_COMPILER_CXX_EXCEPTIONS is not set');
    },
    30 * 60_000,
  );
});
