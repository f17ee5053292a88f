import { parseBuildDiagnostics } from '@aegis/esp';
import type { LogLine } from '@aegis/protocol';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diagnosticsOf, IncrementalDiagnostics, isUserFile } from '../src/lib/build/diagnostics';

const FIXTURE = new URL('./fixtures/gcc-header-first/', import.meta.url).pathname;

/** The compiler's output inside the ninja lines idf.py prints around it. */
function buildLog(gccOutput: string): LogLine[] {
  const text = [
    '[1/4] Building C object esp-idf/main/CMakeFiles/__idf_main.dir/main.c.obj',
    'FAILED: esp-idf/main/CMakeFiles/__idf_main.dir/main.c.obj',
    gccOutput.trimEnd(),
    'ninja: build stopped: subcommand failed.',
    'ninja failed with exit code 1, output of the command is in the /ws/project/build/log/idf_py_stderr_output_1 and /ws/project/build/log/idf_py_stdout_output_1',
  ].join('\n');
  return text.split('\n').map((t, i) => ({ seq: 100 + i, ts: 0, stream: 'stdout' as const, text: t }));
}

describe.each(['plain.log', 'color.log'])('real ESP-IDF gcc output, first error in a toolchain header (%s)', (name) => {
  const lines = buildLog(readFileSync(FIXTURE + name, 'utf8'));

  it("gcc (and libs/esp's log-order parse) has the toolchain header first", () => {
    const raw = parseBuildDiagnostics(lines.map((l) => l.text).join('\n')).filter((d) => d.severity === 'error');
    expect(raw[0].file).toMatch(/newlib\/riscv32-esp-elf\/include\/sys\/_stdint\.h$/);
  });

  it("shows the user's error first, linked to main/main.c:5, and keeps the header's include chain", () => {
    const d = diagnosticsOf(lines);
    expect(d.map((x) => `${x.severity} ${x.file}:${x.line}`)).toEqual([
      'error main/main.c:5',
      expect.stringMatching(/^error \/.*\/sys\/_stdint\.h:24$/),
    ]);
    expect(d[0]).toMatchObject({
      column: 18,
      message: "expected ';' before '}' token",
      inProject: true,
      includedFrom: [],
    });
    // The link goes to the log line that says so.
    expect(lines.find((l) => l.seq === d[0].seq)!.text).toContain('main.c:5:18');
    const header = d[1];
    expect(header.inProject).toBe(false);
    expect(header.message).toMatch(/^conflicting types for 'uint8_t'/);
    expect(header.includedFrom.map((s) => [s.file.replace(/^.*\/include\//, '…/'), s.line, s.inProject])).toEqual([
      ['…/stdint.h', 14, false],
      ['…/stdint.h', 9, false],
      ['main/main.c', 2, true],
    ]);
    expect(lines.find((l) => l.seq === header.includedFrom[2].seq)!.text).toContain('from ');
  });

  it('the incremental parser agrees, whatever the frames', () => {
    const full = diagnosticsOf(lines);
    for (let size = 1; size <= lines.length; size++) {
      const inc = new IncrementalDiagnostics();
      for (let i = 0; i < lines.length; i += size) inc.push(lines.slice(i, i + size));
      inc.finish();
      expect(inc.diagnostics, `frames of ${size}`).toEqual(full);
    }
  });
});

describe('ranking', () => {
  const at = (texts: string[]) => texts.map((text, i) => ({ seq: i, ts: 0, stream: 'stdout' as const, text }));

  it('errors before warnings; the user’s before ESP-IDF’s before file-less ones; log order within each', () => {
    const d = diagnosticsOf(
      at([
        "/ws/project/main/a.c:1:1: warning: unused variable 'a' [-Wunused-variable]",
        '/idf/esp-idf/components/log/include/esp_log.h:3:1: warning: deprecated',
        "riscv32-esp-elf-gcc: error: unrecognized command-line option '-mfoo'",
        '/idf/esp-idf/components/freertos/x.c:9:2: error: esp-idf error',
        '/ws/project/components/led/led.c:7:3: error: led error',
        '/ws/project/main/b.c:2:4: error: main error',
      ]),
    );
    expect(d.map((x) => x.message)).toEqual([
      'led error',
      'main error',
      'esp-idf error',
      "unrecognized command-line option '-mfoo'",
      "unused variable 'a' [-Wunused-variable]",
      'deprecated',
    ]);
  });

  it("the user's files: main/ and components/ of the project; not ESP-IDF, the toolchain, build/ or managed components", () => {
    expect(isUserFile('/ws/project/main/main.c')).toBe(true);
    expect(isUserFile('/ws/project/components/led/led.c')).toBe(true);
    expect(isUserFile('../main/main.c')).toBe(true);
    expect(isUserFile('/ws/project/build/config/sdkconfig.h')).toBe(false);
    expect(isUserFile('/ws/project/managed_components/espressif__led_strip/src/led.c')).toBe(false);
    expect(isUserFile('/usr/lib/gcc/riscv64-unknown-elf/12.2.0/include/stdint.h')).toBe(false);
    expect(isUserFile('/opt/esp/idf/components/driver/gpio.c')).toBe(false);
    expect(isUserFile('')).toBe(false);
  });
});
