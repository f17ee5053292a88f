import type { BuildDiagnostic, DiagnosticSeverity, DiagnosticTool } from '@aegis/protocol';
import type { CleanLine } from './log-lines.js';

/** What the line parsers share while walking one log. */
export interface ParseState {
  readonly lines: readonly CleanLine[];
  /** The language of the unit ninja/make compiles or links now: decides gcc vs g++ for headers and collect2. */
  lang: 'gcc' | 'g++';
  /** Where the parser stands: inside CMake's configure step the ERROR:/WARNING:/HINT: lines are the component manager's. */
  phase: 'cmake' | 'build';
  readonly out: BuildDiagnostic[];
  /** Parse other lines (an inner tool's output quoted in a message) into the same list; absent when nested too deep. */
  nested?: (lines: CleanLine[]) => void;
}

/** A parser for the line at i (already cleaned: no progress prefix, no indent). Returns the lines it used (≥ 1) or 0. */
export type LineParser = (text: string, i: number, state: ParseState) => number;

export function emit(
  state: ParseState,
  i: number,
  d: {
    file?: string;
    line?: number;
    column?: number;
    severity: DiagnosticSeverity;
    message: string;
    tool: DiagnosticTool;
    summary?: boolean;
  },
): void {
  state.out.push({
    file: d.file ?? '',
    line: d.line ?? 0,
    ...(d.column !== undefined ? { column: d.column } : {}),
    severity: d.severity,
    message: d.message.trim(),
    tool: d.tool,
    log_line: state.lines[i].index,
    ...(d.summary ? { summary: true } : {}),
  });
}

/** The text of line i with ninja's `[12/345] ` progress prefix and leading blanks removed. */
export function bodyOf(text: string): string {
  let s = text.trimStart();
  if (s.charCodeAt(0) === 0x5b) {
    const close = s.indexOf('] ');
    if (close > 1 && close < 24 && /^\[\d+\/\d+$/.test(s.slice(0, close))) s = s.slice(close + 2).trimStart();
  }
  return s;
}

/** Leading blanks of a line (tabs count as one). */
export function indentOf(text: string): number {
  let i = 0;
  while (i < text.length && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
  return i;
}

/** Headers a progress line may have glued to its end (`Solving dependencies....CMake Error at …`). */
const GLUED = [
  'CMake Error',
  'CMake Warning',
  'CMake Deprecation',
  '-- Configuring incomplete',
  'ERROR: ',
  'WARNING: ',
  'HINT: ',
  'Traceback (',
];

export function unglue(s: string): string {
  if (!s.includes('.')) return s;
  for (const h of GLUED) {
    const k = s.indexOf(h, 1);
    if (k > 0 && s.slice(0, k).trimEnd().endsWith('.')) return s.slice(k);
  }
  return s;
}
