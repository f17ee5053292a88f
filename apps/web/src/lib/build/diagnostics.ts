import type { LogLine } from '@aegis/protocol';
import { stripAnsi } from '../ansi';

export interface Diagnostic {
  severity: 'error' | 'warning';
  file: string;
  line: number;
  column: number | null;
  message: string;
  /** Log line the diagnostic came from, so the list can jump to it. */
  seq: number;
}

const GCC_RE = /^(.+?):(\d+):(?:(\d+):)?\s+(?:fatal\s+)?(error|warning):\s+(.*)$/;

/** Compiler diagnostics in the build log (`file:line[:col]: error|warning: message`), without duplicates. */
export function diagnosticsOf(lines: readonly LogLine[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const l of lines) {
    const m = GCC_RE.exec(stripAnsi(l.text).trim());
    if (!m) continue;
    const d: Diagnostic = {
      file: m[1].replace(/^.*?\/(main|components)\//, '$1/'),
      line: Number(m[2]),
      column: m[3] ? Number(m[3]) : null,
      severity: m[4] as Diagnostic['severity'],
      message: m[5],
      seq: l.seq,
    };
    const key = `${d.file}:${d.line}:${d.column}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}
