import { StringStream } from '@codemirror/language';
import { describe, expect, it } from 'vitest';
import { kconfig, type KconfigState } from '../src/components/editor/kconfig';
import { languageOf } from '../src/components/editor/languages';
import { lineDiff, textOf, changedFiles } from '../src/lib/projects/source-diff';
import { projectNameOf } from '../src/lib/projects/project-sources';

/** Runs the Kconfig stream mode over a text: per line, the [token text, style] pairs it produced. */
function tokens(text: string): [string, string | null][][] {
  const state: KconfigState = kconfig.startState!(4);
  return text.split('\n').map((line) => {
    const out: [string, string | null][] = [];
    const s = new StringStream(line, 4, 4);
    while (!s.eol()) {
      const style = kconfig.token(s, state);
      const t = s.current();
      if (t.trim()) out.push([t, style]);
      s.start = s.pos;
    }
    return out;
  });
}

describe('editor languages', () => {
  it('picks C/C++, CMake, Kconfig, sdkconfig and TOML by file name', () => {
    expect(languageOf('main/hello_world.c')).toBe('cpp');
    expect(languageOf('main/app.cpp')).toBe('cpp');
    expect(languageOf('components/x/include/x.h')).toBe('cpp');
    expect(languageOf('CMakeLists.txt')).toBe('cmake');
    expect(languageOf('main/CMakeLists.txt')).toBe('cmake');
    expect(languageOf('cmake/extra.cmake')).toBe('cmake');
    expect(languageOf('main/Kconfig.projbuild')).toBe('kconfig');
    expect(languageOf('components/x/Kconfig')).toBe('kconfig');
    expect(languageOf('sdkconfig.defaults.esp32c3')).toBe('sdkconfig');
    expect(languageOf('.espctl.toml')).toBe('toml');
    expect(languageOf('README.md')).toBe('text');
  });

  it('highlights Kconfig: keywords, the defined symbol, types, strings, numbers, y/n and help text', () => {
    const lines = tokens(
      [
        'menu "Blink configuration"',
        '    config BLINK_GPIO',
        '        int "LED GPIO number"',
        '        range 0 21 if IDF_TARGET_ESP32C3',
        '        default 8',
        '        help',
        '            The GPIO the LED is on.',
        '',
        '            Second paragraph.',
        '    config BLINK_ON # a comment',
        '        bool "On"',
        '        default y',
        '        depends on !BLINK_OFF && (A || B)',
        'endmenu',
      ].join('\n'),
    );
    expect(lines[0]).toEqual([
      ['menu', 'keyword'],
      ['"Blink configuration"', 'string'],
    ]);
    expect(lines[1]).toEqual([
      ['config', 'keyword'],
      ['BLINK_GPIO', 'def'],
    ]);
    expect(lines[2]).toEqual([
      ['int', 'typeName'],
      ['"LED GPIO number"', 'string'],
    ]);
    expect(lines[3]).toEqual([
      ['range', 'keyword'],
      ['0', 'number'],
      ['21', 'number'],
      ['if', 'keyword'],
      ['IDF_TARGET_ESP32C3', 'variableName'],
    ]);
    expect(lines[5]).toEqual([['help', 'keyword']]);
    // The help block runs over a blank line and ends at the first line indented less than its text.
    expect(lines[6]).toEqual([['            The GPIO the LED is on.', 'comment']]);
    expect(lines[8]).toEqual([['            Second paragraph.', 'comment']]);
    expect(lines[9]).toEqual([
      ['config', 'keyword'],
      ['BLINK_ON', 'def'],
      ['# a comment', 'comment'],
    ]);
    expect(lines[11]).toEqual([
      ['default', 'keyword'],
      ['y', 'atom'],
    ]);
    expect(lines[12].map(([, s]) => s)).toEqual([
      'keyword',
      'keyword',
      'operator',
      'variableName',
      'operator',
      'operator',
      'variableName',
      'operator',
      'variableName',
      'operator',
    ]);
    expect(lines[13]).toEqual([['endmenu', 'keyword']]);
  });

  it('a bare choice defines no symbol on the next line', () => {
    const lines = tokens('choice\n    prompt "Pick"\nendchoice');
    expect(lines[1][0]).toEqual(['prompt', 'keyword']);
  });
});

describe('changes since the last build', () => {
  const enc = new TextEncoder();
  const f = (path: string, text: string) => ({ path, data: enc.encode(text) });

  it('lists added, modified and removed files by path; unchanged ones are left out', () => {
    expect(
      changedFiles(
        [f('CMakeLists.txt', 'a'), f('main/a.c', 'x'), f('main/gone.c', 'g')],
        [f('CMakeLists.txt', 'a'), f('main/a.c', 'y'), f('main/new.c', 'n')],
      ),
    ).toEqual([
      { path: 'main/a.c', status: 'modified' },
      { path: 'main/gone.c', status: 'removed' },
      { path: 'main/new.c', status: 'added' },
    ]);
    expect(changedFiles([f('a', 'same')], [f('a', 'same')])).toEqual([]);
  });

  it('shows a line diff with old and new line numbers and context', () => {
    const before = [
      '#include <stdio.h>',
      '',
      'void app_main(void)',
      '{',
      '    printf("Hello world!\\n");',
      '}',
      '',
    ].join('\n');
    const after = before.replace('Hello world!', 'Hello aegis!');
    const [hunk, ...rest] = lineDiff(before, after);
    expect(rest).toEqual([]);
    expect(hunk.header).toBe('@@ -2,5 +2,5 @@');
    const changed = hunk.lines.filter((l) => l.kind !== 'context');
    expect(changed).toEqual([
      { kind: 'del', text: '    printf("Hello world!\\n");', oldNo: 5 },
      { kind: 'add', text: '    printf("Hello aegis!\\n");', newNo: 5 },
    ]);
    expect(hunk.lines[0]).toEqual({ kind: 'context', text: '', oldNo: 2, newNo: 2 });
  });

  it('tells text from binary files', () => {
    expect(textOf(new TextEncoder().encode('héllo'))).toBe('héllo');
    expect(textOf(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0]))).toBeNull();
    expect(textOf(new Uint8Array([0xff, 0xfe, 0x41]))).toBeNull();
  });

  it('names an uploaded project after its project() line', () => {
    expect(projectNameOf([f('CMakeLists.txt', 'include(x)\nproject(blinky C CXX)\n')], 'folder')).toBe('blinky');
    expect(projectNameOf([f('CMakeLists.txt', '# none\n')], 'folder')).toBe('folder');
  });
});
