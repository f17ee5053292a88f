import type { LogLine } from '@aegis/protocol';
import { parseBuildDiagnostics } from '@aegis/esp';
import { stripAnsi } from '../ansi';

export interface Diagnostic {
  severity: 'error' | 'warning';
  /** Path shortened to the project (main/…, components/…) when it is inside it. */
  file: string;
  line: number;
  column: number | null;
  message: string;
  /** Log line the diagnostic came from, so the list can jump to it (-1 when not found). */
  seq: number;
}

/** The project is at /ws/project in the build sandbox: paths there become project-relative, others stay whole. */
const PROJECT_PREFIX = /^(?:\/ws\/project\/|(?:\.\.\/)+(?=main\/|components\/))/;
export function projectRelative(file: string): string {
  return file.replace(PROJECT_PREFIX, '');
}

/** Compiler, linker and CMake errors and warnings of the log (parsed by libs/esp), each tied to its log line. */
export function diagnosticsOf(lines: readonly LogLine[]): Diagnostic[] {
  if (!lines.length) return [];
  const plain = lines.map((l) => stripAnsi(l.text));
  const found = parseBuildDiagnostics(plain.join('\n'));
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const d of found) {
    if (d.severity === 'note') continue;
    // The same error often repeats (ninja reprints it); one entry each is enough.
    const key = `${d.file}:${d.line}:${d.column}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const needle = d.line ? `${d.file}:${d.line}` : d.message;
    const idx = plain.findIndex((t) => t.includes(needle) && t.includes(d.message.slice(0, 40)));
    const fallback = idx >= 0 ? idx : plain.findIndex((t) => t.includes(needle));
    out.push({
      severity: d.severity,
      file: projectRelative(d.file),
      line: d.line,
      column: d.column ?? null,
      message: d.message,
      seq: fallback >= 0 ? lines[fallback].seq : -1,
    });
  }
  return out;
}
