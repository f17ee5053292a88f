import type { DiagnosticSeverity } from '@aegis/protocol';
import { lastPathOf } from './location.js';
import { emit, type ParseState } from './types.js';

/** Phrases only ld prints: a line holding one is the linker's even without the `…/ld:` prefix (old binutils). */
const LD_PHRASES = [
  'undefined reference to ',
  'multiple definition of ',
  'first defined here',
  ' will not fit in region ',
  "' overflowed by ",
  'relocation truncated to fit',
  'dangerous relocation',
  'does not fit',
];

export function hasLinkerPhrase(s: string): boolean {
  for (const p of LD_PHRASES) if (s.includes(p)) return true;
  return false;
}

/** `obj.o: in function 'f':` and similar context lines that name where the next error is. */
function isContext(r: string): boolean {
  return (
    r.endsWith(':') &&
    (r.includes(': in function ') ||
      r.includes(': In function ') ||
      r.startsWith('In function ') ||
      r.startsWith('in function '))
  );
}

/** A location ld puts before `: message`: no blanks, or a path (Windows paths may hold spaces). */
function plausibleLocation(loc: string): boolean {
  if (!loc) return false;
  if (!/\s/.test(loc)) return !/^(?:warning|error|note)$/i.test(loc);
  return /[\\/]/.test(loc) && !/^(?:warning|error|note|cannot|unable|final|link)\b/i.test(loc);
}

/** `file:line:(section)`, `obj.o:src.c:(section)`, `lib.a(obj.o):(section)`, `lib.a(x.o):/p/src.c:12` → file, line. */
function splitLocation(loc: string): { file: string; line: number } {
  let part = loc;
  if (part.endsWith(')')) {
    const open = part.lastIndexOf('(');
    if (open > 0 && part.charCodeAt(open - 1) === 0x3a) part = part.slice(0, open - 1);
  }
  let e = part.length;
  while (e > 0 && part.charCodeAt(e - 1) >= 0x30 && part.charCodeAt(e - 1) <= 0x39) e--;
  let line = 0;
  if (e < part.length && e > 1 && part.charCodeAt(e - 1) === 0x3a) {
    line = Number(part.slice(e));
    part = part.slice(0, e - 1);
  }
  return { file: part.endsWith(')') ? part : lastPathOf(part), line };
}

function severityOf(msg: string): { severity: DiagnosticSeverity; message: string } {
  const m = /^(warning|error|note|fatal error|info): ?/i.exec(msg);
  if (m) {
    const k = m[1].toLowerCase();
    const severity = k === 'fatal error' ? 'fatal' : (k as DiagnosticSeverity);
    return { severity, message: msg.slice(m[0].length) };
  }
  if (msg.startsWith('first defined here')) return { severity: 'note', message: msg };
  if (msg.startsWith('skipping incompatible ')) return { severity: 'warning', message: msg };
  return { severity: 'error', message: msg };
}

function emitPart(r: string, i: number, state: ParseState): void {
  const k = r.indexOf(': ');
  const loc = k > 0 ? r.slice(0, k) : '';
  if (!plausibleLocation(loc) || /^(?:warning|error|note)$/i.test(loc)) {
    const { severity, message } = severityOf(r);
    const summary = message.startsWith('link errors found, deleting executable');
    emit(state, i, { severity, message, tool: 'ld', ...(summary ? { summary } : {}) });
    return;
  }
  const { file, line } = splitLocation(loc);
  const { severity, message } = severityOf(r.slice(k + 2));
  emit(state, i, { file, line, severity, message, tool: 'ld' });
}

/**
 * One ld line, its `…/ld: ` prefix already removed. `multiple definition of 'f'; other.o:src.c:3: first defined here`
 * is two diagnostics (the error and a note where it was first defined). Context lines (`in function`) give none.
 */
export function parseLinkerLine(r: string, i: number, state: ParseState): void {
  if (isContext(r)) return;
  const md = r.indexOf('multiple definition of ');
  const semi = md >= 0 ? r.indexOf('; ', md) : -1;
  if (semi > 0 && r.includes('first defined here', semi)) {
    emitPart(r.slice(0, semi), i, state);
    emitPart(r.slice(semi + 2), i, state);
    return;
  }
  emitPart(r, i, state);
}
