import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildDiagnostic } from '@aegis/protocol';
import { parseBuildDiagnostics as parseWithLines } from '../src/index.js';

/** The diagnostics without log_line (checked in build-diagnostics-shapes.spec.ts), so items compare whole. */
const parseBuildDiagnostics = (log: string) => parseWithLines(log).map(({ log_line: _, ...d }) => d);

/** Run a real tool and return what it printed (stdout + stderr), as a build log would hold it. */
function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'esp-diag-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseBuildDiagnostics on real tool output', () => {
  it('gcc errors, warnings and their columns', () => {
    writeFileSync(
      join(dir, 'bad.c'),
      'int f(int x) {\n  int unused;\n  return x +\n}\nvoid g(void) { undefined_fn(); }\n',
    );
    const log = run(
      'riscv64-unknown-elf-gcc',
      ['-march=rv32imc_zicsr', '-mabi=ilp32', '-Wall', '-c', 'bad.c', '-o', 'bad.o'],
      dir,
    );
    const d = parseBuildDiagnostics(log);
    for (const item of d) expect(BuildDiagnostic.parse(item)).toEqual(item);
    expect(d).toContainEqual({
      file: 'bad.c',
      line: 4,
      column: 1,
      severity: 'error',
      message: "expected expression before '}' token",
      tool: 'gcc',
    });
    expect(d).toContainEqual({
      file: 'bad.c',
      line: 2,
      column: 7,
      severity: 'warning',
      message: "unused variable 'unused' [-Wunused-variable]",
      tool: 'gcc',
    });
    expect(d.find((x) => x.message.startsWith('implicit declaration'))).toMatchObject({
      line: 5,
      column: 16,
      severity: 'warning',
    });
    // Source excerpts and "In function" context lines are not diagnostics.
    expect(d.every((x) => x.file === 'bad.c')).toBe(true);
  });

  it('a fatal error (missing header) is fatal', () => {
    writeFileSync(join(dir, 'inc.c'), '#include "nope.h"\n');
    const d = parseBuildDiagnostics(run('riscv64-unknown-elf-gcc', ['-c', 'inc.c', '-o', 'inc.o'], dir));
    expect(d).toEqual([
      {
        file: 'inc.c',
        line: 1,
        column: 10,
        severity: 'fatal',
        message: 'nope.h: No such file or directory',
        tool: 'gcc',
      },
    ]);
  });

  it('ld: undefined reference with and without debug info, and ld warnings', () => {
    writeFileSync(join(dir, 'u.c'), 'extern int foo(void);\nint main(void) { return foo(); }\n');
    const withDebug = parseBuildDiagnostics(
      run(
        'riscv64-unknown-elf-gcc',
        ['-march=rv32imc', '-mabi=ilp32', '-g', '-nostdlib', '-nostartfiles', 'u.c', '-o', 'u.elf'],
        dir,
      ),
    );
    expect(withDebug.find((x) => x.message.startsWith('undefined reference'))).toEqual({
      file: join(dir, 'u.c'),
      line: 2,
      severity: 'error',
      message: "undefined reference to `foo'",
      tool: 'ld',
    });
    expect(withDebug.find((x) => x.severity === 'warning')?.message).toMatch(/cannot find entry symbol/);
    const noDebug = parseBuildDiagnostics(
      run(
        'riscv64-unknown-elf-gcc',
        ['-march=rv32imc', '-mabi=ilp32', '-nostdlib', '-nostartfiles', 'u.c', '-o', 'u.elf'],
        dir,
      ),
    );
    expect(noDebug.find((x) => x.message.startsWith('undefined reference'))).toEqual({
      file: 'u.c',
      line: 0,
      severity: 'error',
      message: "undefined reference to `foo'",
      tool: 'ld',
    });
    // collect2's closing line is kept, marked as a summary of the errors above it.
    expect(noDebug.filter((x) => x.message.includes('ld returned'))).toEqual([
      { file: '', line: 0, severity: 'error', message: 'ld returned 1 exit status', tool: 'gcc', summary: true },
    ]);
  });

  it('CMake errors and warnings with their multi-line message', () => {
    const src = join(dir, 'cm');
    mkdirSync(src);
    writeFileSync(
      join(src, 'CMakeLists.txt'),
      'cmake_minimum_required(VERSION 3.16)\nproject(x NONE)\nmessage(WARNING "careful now")\nfoo_bar(1)\n',
    );
    const d = parseBuildDiagnostics(run('cmake', ['-S', src, '-B', join(dir, 'cmb')], dir));
    expect(d).toContainEqual({
      file: 'CMakeLists.txt',
      line: 4,
      severity: 'error',
      message: 'Unknown CMake command "foo_bar".',
      tool: 'cmake',
    });
    expect(d).toContainEqual({
      file: 'CMakeLists.txt',
      line: 3,
      severity: 'warning',
      message: 'careful now',
      tool: 'cmake',
    });
    writeFileSync(join(src, 'CMakeLists.txt'), 'cmake_minimum_required(VERSION 3.16)\nproject(x NONE)\nset(\n');
    const parse = parseBuildDiagnostics(run('cmake', ['-S', src, '-B', join(dir, 'cmc')], dir));
    // stdout (CMake's closing summary) comes before stderr here; the summary is marked as such.
    expect(parse.find((d) => d.summary)?.message).toBe('Configuring incomplete, errors occurred!');
    const cause = parse.find((d) => !d.summary);
    expect(cause).toMatchObject({ file: 'CMakeLists.txt', line: 3, severity: 'error', tool: 'cmake' });
    expect(cause?.message).toMatch(/Parse error/);
  });
});

describe('parseBuildDiagnostics on documented formats', () => {
  it('ninja prefixes, ANSI colours, clang notes, Windows paths, ld region overflow', () => {
    const log = [
      '[3/12] Building C object esp-idf/main/CMakeFiles/__idf_main.dir/main.c.obj',
      "\u001b[01m\u001b[Kmain/main.c:10:5:\u001b[m\u001b[K \u001b[01;31m\u001b[Kerror: \u001b[m\u001b[K'x' undeclared",
      'src/a.cpp:3:1: note: declared here',
      'C:/proj/main/app.c:7:2: warning: unused variable',
      "/opt/esp/tools/riscv32-esp-elf/bin/ld: region `iram0_0_seg' overflowed by 52 bytes",
      'collect2: error: ld returned 1 exit status',
      'ninja: build stopped: subcommand failed.',
      "main/main.c:10:5: error: 'x' undeclared",
    ].join('\n');
    expect(parseBuildDiagnostics(log)).toEqual([
      { file: 'main/main.c', line: 10, column: 5, severity: 'error', message: "'x' undeclared", tool: 'gcc' },
      { file: 'src/a.cpp', line: 3, column: 1, severity: 'note', message: 'declared here', tool: 'g++' },
      {
        file: 'C:/proj/main/app.c',
        line: 7,
        column: 2,
        severity: 'warning',
        message: 'unused variable',
        tool: 'gcc',
      },
      { file: '', line: 0, severity: 'error', message: "region `iram0_0_seg' overflowed by 52 bytes", tool: 'ld' },
      { file: '', line: 0, severity: 'error', message: 'ld returned 1 exit status', tool: 'gcc', summary: true },
      {
        file: '',
        line: 0,
        severity: 'error',
        message: 'ninja: build stopped: subcommand failed.',
        tool: 'ninja',
        summary: true,
      },
      { file: 'main/main.c', line: 10, column: 5, severity: 'error', message: "'x' undeclared", tool: 'gcc' },
    ]);
  });

  it('returns nothing for a clean log', () => {
    expect(
      parseBuildDiagnostics('-- Configuring done\n[1/1] Linking C executable app.elf\nProject build complete.\n'),
    ).toEqual([]);
  });
});
