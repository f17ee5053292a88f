import type { DiagnosticSeverity } from '@aegis/protocol';
import type { CleanLine } from './log-lines.js';
import { emit, indentOf, type ParseState } from './types.js';

const HEAD = /^CMake (Error|Warning|Deprecation Warning|Deprecation Error)( \(dev\))?/;
const STACK = 'Call Stack (most recent call first):';
/** An inner tool's message inside this one's. */
const NESTED = /^(?:CMake (?:Error|Warning|Deprecation)|Traceback \(|ERROR: |WARNING: )/;
/** A message longer than this is cut: the list of 400 files an error may print is no help in one line. */
const MAX_MESSAGE = 4000;

/** `path:12 (command)` / `path:12` / `path` → file and line, reading from the end (linear on any length). */
function cmakeLocation(loc: string): { file: string; line: number } {
  let s = loc.trimEnd();
  if (s.endsWith(':')) s = s.slice(0, -1);
  if (s.endsWith(')')) {
    const p = s.lastIndexOf(' (');
    if (p > 0) s = s.slice(0, p);
  }
  let e = s.length;
  while (e > 0 && s.charCodeAt(e - 1) >= 0x30 && s.charCodeAt(e - 1) <= 0x39) e--;
  if (e < s.length && e > 1 && s.charCodeAt(e - 1) === 0x3a)
    return { file: s.slice(0, e - 1), line: Number(s.slice(e)) };
  return { file: s, line: 0 };
}

/**
 * `CMake Error at file:line (command):` and its message: the indented lines after it, blank lines included, up to
 * the first line that is neither blank, indented nor CMake's `Call Stack` header (the stack is not the message).
 */
export function parseCmake(s: string, i: number, state: ParseState): number {
  if (!s.startsWith('CMake ')) return 0;
  const m = HEAD.exec(s);
  if (!m) return 0;
  const severity: DiagnosticSeverity = m[1].endsWith('Error') ? 'error' : 'warning';
  const after = s.slice(m[0].length);
  let where = { file: '', line: 0 };
  let inline = '';
  if (after.startsWith(' at ') || after.startsWith(' in ')) where = cmakeLocation(after.slice(4));
  else if (after.startsWith(':')) inline = after.slice(1).trim();
  else if (after.trim() !== '') return 0;

  const { lines } = state;
  const body: CleanLine[] = [];
  let inStack = false;
  let last = i;
  for (let j = i + 1; j < lines.length; j++) {
    const t = lines[j].text;
    const tt = t.trim();
    if (tt === '') {
      if (!inStack) body.push(lines[j]);
      continue;
    }
    if (tt === STACK && indentOf(t) === 0) inStack = true;
    else if (indentOf(t) === 0) break;
    else if (!inStack) body.push(lines[j]);
    last = j;
  }
  const parts: string[] = inline ? [inline] : [];
  let length = inline.length;
  let nestedHeader = false;
  for (const l of body) {
    const tt = l.text.trim();
    if (NESTED.test(tt)) nestedHeader = true;
    if (tt && length < MAX_MESSAGE) {
      parts.push(tt);
      length += tt.length + 1;
    }
  }
  let message = parts.join(' ');
  // ESP-IDF runs CMake inside CMake and prints the inner run's output as this error's message: its own errors and
  // warnings are diagnostics too, and the first inner error is what this one means.
  const at = state.out.length;
  emit(state, i, { ...where, severity, message: '', tool: 'cmake' });
  if (nestedHeader && state.nested) {
    state.nested(dedent(body));
    const inner = state.out.slice(at + 1);
    const cause = inner.find((d) => d.severity === 'error' || d.severity === 'fatal') ?? inner[0];
    if (cause) message = cause.message;
  }
  state.out[at].message = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
  return last - i + 1;
}

/** Lines with their common indent removed. */
function dedent(lines: CleanLine[]): CleanLine[] {
  let min = Infinity;
  for (const l of lines) if (l.text.trim()) min = Math.min(min, indentOf(l.text));
  return lines.map((l) => ({ text: l.text.slice(Number.isFinite(min) ? min : 0), index: l.index }));
}
