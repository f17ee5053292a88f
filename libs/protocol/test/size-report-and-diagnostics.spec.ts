import { describe, expect, it } from 'vitest';
import { BuildDiagnostic, SizeReport } from '../src/index.js';

describe('SizeReport schema', () => {
  it('accepts a normalised report and rejects negative sizes', () => {
    const ok = {
      source: 'json2',
      flash: { used: 100 },
      ram: { used: 10, total: 100 },
      regions: [{ name: 'DRAM', used: 10, total: 100, parts: { '.data': 4, '.bss': 6 } }],
      components: [{ name: 'libc.a', flash: 50, ram: 2 }],
    };
    expect(SizeReport.parse(ok)).toEqual(ok);
    expect(SizeReport.safeParse({ ...ok, flash: { used: -1 } }).success).toBe(false);
    expect(SizeReport.safeParse({ ...ok, source: 'other' }).success).toBe(false);
  });
});

describe('BuildDiagnostic schema', () => {
  it('accepts what real tools print (fatal, column 0, an empty message) and rejects a bad severity or tool', () => {
    const d = { file: 'main/main.c', line: 3, column: 5, severity: 'error', message: "expected ';'", tool: 'gcc' };
    expect(BuildDiagnostic.parse(d)).toEqual(d);
    expect(BuildDiagnostic.parse({ ...d, tool: 'compiler' }).tool).toBe('compiler');
    expect(BuildDiagnostic.safeParse({ ...d, message: '' }).success).toBe(true);
    expect(BuildDiagnostic.safeParse({ ...d, severity: 'fatal' }).success).toBe(true);
    expect(BuildDiagnostic.safeParse({ ...d, column: 0 }).success).toBe(true);
    expect(BuildDiagnostic.safeParse({ ...d, severity: 'panic' }).success).toBe(false);
    expect(BuildDiagnostic.safeParse({ ...d, tool: 'clang' }).success).toBe(false);
    expect(BuildDiagnostic.safeParse({ ...d, column: -1 }).success).toBe(false);
  });
});
