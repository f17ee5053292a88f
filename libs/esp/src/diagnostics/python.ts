import { parseLocation } from './location.js';
import { emit, indentOf, type ParseState } from './types.js';

const FRAME = /^File "(.*)", line (\d+)/;
/** A pip requirement: `click>=7.0`, `pyparsing>=2.0.3,<2.4.0`, `esp-windows-curses; sys_platform == 'win32'`. */
const REQUIREMENT = /^[A-Za-z0-9][\w.[\]-]*\s*(?:[<>=!~;]|$)/;

/** The exception names kconfiglib raises: their message carries the Kconfig file and line. */
function isKconfigException(name: string): boolean {
  return /kconfig/i.test(name);
}

/**
 * A Python traceback: one error at the last frame's file:line, with the exception line as its message. A kconfiglib
 * exception whose message starts with `file:line:` is Kconfig's error at that place instead.
 */
export function parseTraceback(s: string, i: number, state: ParseState): number {
  if (s !== 'Traceback (most recent call last):') return 0;
  const { lines } = state;
  const base = indentOf(lines[i].text);
  let frame: { file: string; line: number } | undefined;
  let j = i + 1;
  for (; j < lines.length; j++) {
    const t = lines[j].text;
    const tt = t.trim();
    if (tt === '') continue;
    if (indentOf(t) <= base) break;
    const f = FRAME.exec(tt);
    if (f) frame = { file: f[1], line: Number(f[2]) };
  }
  if (j >= lines.length) return j - i;
  let exc = lines[j].text.trim();
  // `SolverFailure:` with its message on the indented lines below it.
  const continued = exc.endsWith(':');
  for (let k = j + 1; continued && k < lines.length && indentOf(lines[k].text) > base; k++) {
    const more = lines[k].text.trim();
    if (!more || exc.length > 4000) break;
    exc = `${exc} ${more}`;
  }
  const colon = exc.indexOf(': ');
  const name = colon > 0 ? exc.slice(0, colon) : exc;
  if (isKconfigException(name) && colon > 0) {
    const loc = parseLocation(exc.slice(colon + 2));
    if (loc) {
      const rest = loc.rest.trim().replace(/^error: ?/, '');
      emit(state, j, { file: loc.file, line: loc.line, severity: 'error', message: rest, tool: 'kconfig' });
      return j - i + 1;
    }
  }
  emit(state, j, { ...(frame ?? {}), severity: 'error', message: exc, tool: 'python' });
  return j - i + 1;
}

/**
 * ESP-IDF's check of the Python environment: `The following Python requirements are not satisfied:` then one line
 * per requirement (`Requirement 'x>=1' was not met. Installed version: 0.9`, or just `x>=1` in older releases).
 */
export function parseRequirements(s: string, i: number, state: ParseState): number {
  if (!s.startsWith('The following Python requirements are not satisfied')) return 0;
  const { lines } = state;
  let j = i + 1;
  let last = i;
  for (; j < lines.length; j++) {
    const tt = lines[j].text.trim();
    if (tt === '') continue; // pasted from Windows consoles, the list is double-spaced
    if (tt.startsWith('Requirement ')) emit(state, j, { severity: 'error', message: tt, tool: 'python' });
    else if (REQUIREMENT.test(tt))
      emit(state, j, { severity: 'error', message: `Python requirement not satisfied: ${tt}`, tool: 'python' });
    else break;
    last = j;
  }
  return last - i + 1;
}
