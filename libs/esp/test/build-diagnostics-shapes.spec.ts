import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BuildDiagnostic } from '@aegis/protocol';
import { firstBuildError, isProjectFile, parseBuildDiagnostics } from '../src/index.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/diagnostics/${name}.log`, import.meta.url), 'utf8');

describe('log_line: where each diagnostic starts, in the caller’s own lines', () => {
  it('counts only \\n, so CR-only breaks, CR CR LF and escapes leave the numbering of the lines alone', () => {
    const log = 'progress 1\rprogress 2\r\r\nmain.c:1:1: error: x\n\u001b]0;title\u0007main.c:2:1: warning: y\r\n';
    const d = parseBuildDiagnostics(log);
    expect(d.map((x) => [x.message, x.log_line])).toEqual([
      ['x', 1],
      ['y', 2],
    ]);
  });

  it('a line printed twice is two diagnostics, each at its own line', () => {
    const line = "main/main.c:12:5: error: 'x' undeclared";
    const d = parseBuildDiagnostics(`${line}\n[3/9] Building C object x.obj\n${line}\n`);
    expect(d.map((x) => x.log_line)).toEqual([0, 2]);
  });

  it('a traceback is placed at its exception line, a CMake error at its header', () => {
    const d = parseBuildDiagnostics(fixture('kconfig-syntax'));
    const lines = fixture('kconfig-syntax').split('\n');
    for (const x of d.filter((x) => x.line > 0)) expect(lines[x.log_line!]).toContain(`${x.file}:${x.line}`);
  });
});

describe('what real tools print always fits the wire schema', () => {
  it('column 0, an empty message, odd bytes', () => {
    const d = parseBuildDiagnostics('main.c:3:0: warning: old gcc\nmain.c:4:1: error:\n\u0000\u00ff\uffff: error: ?\n');
    expect(d.slice(0, 2)).toMatchObject([
      { column: 0, message: 'old gcc' },
      { column: 1, message: '' },
    ]);
    for (const x of d) expect(BuildDiagnostic.parse(x)).toEqual(x);
  });
});

describe('firstBuildError: the error that says why a build failed', () => {
  const at = (file: string, severity: BuildDiagnostic['severity'] = 'error', summary?: boolean): BuildDiagnostic => ({
    file,
    line: file ? 3 : 0,
    severity,
    message: `in ${file}`,
    tool: 'gcc',
    ...(summary ? { summary } : {}),
  });

  it('prefers a file of the project over ESP-IDF and toolchain headers, and fatal counts as an error', () => {
    const d = [
      at('', 'error', true),
      at('/opt/esp/tools/xtensa-esp32-elf/esp-12.2.0/xtensa-esp32-elf/include/c++/12.2.0/bits/stl_vector.h'),
      at('/ws/project/main/app.c', 'warning'),
      at('/ws/project/main/app.cpp', 'fatal'),
    ];
    expect(firstBuildError(d, '/ws/project')?.file).toBe('/ws/project/main/app.cpp');
    expect(firstBuildError(d.slice(0, 3), '/ws/project')?.file).toMatch(/stl_vector\.h$/);
    expect(firstBuildError([at('', 'error', true)])).toBeUndefined();
  });

  it('on real logs: the project’s CMakeLists.txt inside ESP-IDF’s wrapping error, the Kconfig file under kconfgen', () => {
    const proj = '/tmp/aegis-diag/proj';
    expect(firstBuildError(parseBuildDiagnostics(fixture('cmake-syntax')), proj)).toMatchObject({
      file: `${proj}/main/CMakeLists.txt`,
      line: 1,
    });
    expect(firstBuildError(parseBuildDiagnostics(fixture('kconfig-syntax')), proj)).toMatchObject({
      file: `${proj}/main/Kconfig.projbuild`,
      line: 9,
      tool: 'kconfig',
    });
    expect(firstBuildError(parseBuildDiagnostics(fixture('undefined-reference')), proj)?.message).toBe(
      "undefined reference to `sensor_read'",
    );
  });

  it('project files: relative paths and paths under the project; not ESP-IDF, toolchains or the store', () => {
    expect(isProjectFile('main/main.c')).toBe(true);
    expect(isProjectFile('../main/main.c')).toBe(true);
    expect(isProjectFile('/ws/project/components/led/led.c', '/ws/project')).toBe(true);
    expect(isProjectFile('C:\\Users\\me\\proj\\main\\main.c', 'C:/Users/me/proj')).toBe(true);
    expect(isProjectFile('/opt/esp/idf/components/esp_system/port/cpu_start.c', '/ws/project')).toBe(false);
    expect(isProjectFile('/home/u/.espressif/tools/riscv32-esp-elf/include/stdio.h')).toBe(false);
    expect(isProjectFile('')).toBe(false);
  });
});
