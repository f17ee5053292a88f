import type { DiagnosticSeverity } from '@aegis/protocol';
import { parseLocation } from './location.js';
import { gccProgram, toolForFile } from './tools.js';
import { emit, type ParseState } from './types.js';

/** The severity words gcc (and gas, Kconfig, make) print after a location; `Kconfig:63:warning:` has no space. */
const SEVERITY =
  /^ ?(fatal error|internal compiler error|error|sorry, unimplemented|warning|note|remark|info|Error|Warning|Info|Note):(?: |$)/;
/** Python's warnings module: `/p/x.py:12: DeprecationWarning: …`. */
const PY_WARNING = /^ ?([A-Z]\w*Warning): /;

function severityOf(word: string): DiagnosticSeverity {
  const w = word.toLowerCase();
  if (w === 'fatal error' || w === 'internal compiler error') return 'fatal';
  if (w === 'sorry, unimplemented') return 'error';
  if (w === 'remark') return 'note';
  return w as DiagnosticSeverity;
}

/**
 * `file:line[:col]: severity: message` from gcc/g++, gas, Kconfig and make; Kconfig's `file:line: syntax error` and
 * make's `Makefile:3: *** missing separator.  Stop.` too. Also gcc's programs naming themselves
 * (`cc1: warning: …`, `riscv32-esp-elf-gcc: fatal error: no input files`, `collect2: error: ld returned 1 …`).
 */
export function parseCompiler(s: string, i: number, state: ParseState): number {
  const loc = parseLocation(s);
  if (loc) {
    const tool = toolForFile(loc.file, state.lang);
    const m = SEVERITY.exec(loc.rest);
    if (m) {
      emit(state, i, {
        file: loc.file,
        line: loc.line,
        ...(loc.column !== undefined ? { column: loc.column } : {}),
        severity: severityOf(m[1]),
        message: loc.rest.slice(m[0].length),
        tool,
      });
      return 1;
    }
    const rest = loc.rest.trim();
    const py = tool === 'python' ? PY_WARNING.exec(loc.rest) : null;
    if (py) {
      emit(state, i, { file: loc.file, line: loc.line, severity: 'warning', message: rest, tool });
      return 1;
    }
    if (tool === 'kconfig' && rest) {
      emit(state, i, { file: loc.file, line: loc.line, severity: 'error', message: rest, tool });
      return 1;
    }
    // `Makefile:3: *** missing separator.  Stop.`, `Makefile:8: /make/project.mk: No such file or directory`; old make's
    // `recipe for target 'x' failed` only says where the failing recipe is (the `*** […] Error 1` line follows).
    if (tool === 'make' && rest && !rest.startsWith('recipe for target')) {
      const message = rest.startsWith('*** ') ? rest.slice(4) : rest;
      emit(state, i, { file: loc.file, line: loc.line, severity: 'error', message, tool });
      return 1;
    }
    return 0;
  }
  const k = s.indexOf(': ');
  if (k <= 0 || s.lastIndexOf(' ', k) >= 0) return 0;
  const tool = gccProgram(s.slice(0, k), state.lang);
  if (!tool) return 0;
  const m = SEVERITY.exec(s.slice(k + 1));
  if (!m) return 0;
  const message = s.slice(k + 1 + m[0].length);
  const summary = /returned \d+ exit status/.test(message);
  emit(state, i, { severity: severityOf(m[1]), message, tool, ...(summary ? { summary } : {}) });
  return 1;
}
