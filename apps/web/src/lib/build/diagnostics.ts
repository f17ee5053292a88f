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

/** Errors and warnings of the log (parsed by libs/esp, every ESP-IDF tool), each tied to its log line. */
export function diagnosticsOf(lines: readonly LogLine[]): Diagnostic[] {
  if (!lines.length) return [];
  const plain = lines.map((l) => stripAnsi(l.text));
  const found = parseBuildDiagnostics(plain.join('\n'));
  // ninja's "build stopped" and the like only repeat a failure: listed only when nothing says more.
  const causes = found.some((d) => !d.summary && (d.severity === 'error' || d.severity === 'fatal'));
  // log_line counts '\n'-separated lines of the joined text: map each back to the LogLine holding it.
  const owner: number[] = [];
  plain.forEach((t, k) => {
    owner.push(k);
    for (let p = t.indexOf('\n'); p >= 0; p = t.indexOf('\n', p + 1)) owner.push(k);
  });
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const d of found) {
    if (d.severity === 'note' || d.severity === 'info' || (causes && d.summary)) continue;
    // The same error often repeats (ninja reprints it); one entry each is enough.
    const key = `${d.file}:${d.line}:${d.column}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const idx = d.log_line !== undefined ? (owner[d.log_line] ?? -1) : -1;
    out.push({
      severity: d.severity === 'warning' ? 'warning' : 'error',
      file: projectRelative(d.file),
      line: d.line,
      column: d.column ?? null,
      message: d.message,
      seq: idx >= 0 ? lines[idx].seq : -1,
    });
  }
  return out;
}
