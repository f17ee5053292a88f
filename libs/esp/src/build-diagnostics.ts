import type { BuildDiagnostic } from '@aegis/protocol';
import { parseCmake } from './diagnostics/cmake.js';
import { parseCompiler } from './diagnostics/compiler.js';
import { parseDriver } from './diagnostics/drivers.js';
import { hasLinkerPhrase, parseLinkerLine } from './diagnostics/ld.js';
import { cleanLogLines, type CleanLine } from './diagnostics/log-lines.js';
import { parseBareKconfig, parseParagraph } from './diagnostics/paragraphs.js';
import { parseRequirements, parseTraceback } from './diagnostics/python.js';
import { isLinkerProgram } from './diagnostics/tools.js';
import { bodyOf, unglue, type LineParser, type ParseState } from './diagnostics/types.js';

export { firstBuildError, isProjectFile } from './diagnostics/rank.js';

/** gcc's quoted source (`   12 | x = 3;`) and caret (`      |     ^`) lines: never diagnostics themselves. */
const SOURCE_EXCERPT = /^(?:\d+ +)?\|/;

/** ld lines: `…/bin/ld: rest`, or a line with a phrase only ld prints (old binutils printed no prefix). */
const parseLinker: LineParser = (s, i, state) => {
  const k = s.indexOf(': ');
  if (k > 0 && isLinkerProgram(s.slice(0, k))) {
    parseLinkerLine(s.slice(k + 2), i, state);
    return 1;
  }
  // A long tool path wrapped onto a line of its own: `…/bin/ld:` then the message on the next line.
  if (s.endsWith(':') && !/\s/.test(s) && isLinkerProgram(s.slice(0, -1)) && i + 1 < state.lines.length) {
    parseLinkerLine(bodyOf(state.lines[i + 1].text), i, state);
    return 2;
  }
  if (hasLinkerPhrase(s) && !s.startsWith('CMake ')) {
    parseLinkerLine(s, i, state);
    return 1;
  }
  return 0;
};

/** Tried in this order on each line; the first that takes it wins. */
const PARSERS: LineParser[] = [
  parseCmake,
  parseTraceback,
  parseRequirements,
  parseDriver,
  parseLinker,
  parseCompiler,
  parseParagraph,
  parseBareKconfig,
];

/** Lines that tell which language the next diagnostics' unit is (`Building CXX object`, `Linking C executable`). */
function trackLanguage(s: string, state: ParseState): void {
  if (s.startsWith('Building CXX') || s.startsWith('Linking CXX')) state.lang = 'g++';
  else if (s.startsWith('Building C ') || s.startsWith('Linking C ') || s.startsWith('Building ASM'))
    state.lang = 'gcc';
}

/** Lines that tell whether CMake's configure step (where the component manager runs) is under way. */
function trackPhase(s: string, state: ParseState): void {
  if (
    s.startsWith('-- Configuring ') ||
    s.startsWith('-- Generating done') ||
    s.startsWith('-- Build files have been written') ||
    s.startsWith('ninja: ') ||
    s.startsWith('FAILED: ') ||
    s.startsWith('Building ') ||
    s.startsWith('Linking ')
  )
    state.phase = 'build';
  else if (
    s.startsWith('-- ') ||
    s.startsWith('Re-running CMake') ||
    s.startsWith('Running cmake') ||
    s.startsWith('NOTICE: ') ||
    s.endsWith('solving dependencies.')
  )
    state.phase = 'cmake';
}

/** Inner tool output quoted inside a message is parsed this many levels deep (each level is one more pass). */
const MAX_DEPTH = 3;

function parseLines(lines: readonly CleanLine[], out: BuildDiagnostic[], depth: number, phase: ParseState['phase']) {
  const state: ParseState = { lines, lang: 'gcc', phase, out };
  if (depth < MAX_DEPTH) state.nested = (inner) => parseLines(inner, out, depth + 1, 'cmake');
  for (let i = 0; i < lines.length;) {
    const s = unglue(bodyOf(lines[i].text));
    if (s === '' || SOURCE_EXCERPT.test(s)) {
      i++;
      continue;
    }
    trackLanguage(s, state);
    trackPhase(s, state);
    let used = 0;
    for (const p of PARSERS) {
      used = p(s, i, state);
      if (used) break;
    }
    i += Math.max(used, 1);
  }
}

/**
 * Every diagnostic the tools of an ESP-IDF build printed (`parse_build_errors`, the dashboard, the machine's failure
 * message): gcc/g++, ld, CMake, ninja, make, Kconfig, the component manager, Python and idf.py. One pass over the
 * lines, no backtracking regular expression on a whole line; a line printed twice is two diagnostics.
 */
export function parseBuildDiagnostics(log: string): BuildDiagnostic[] {
  const out: BuildDiagnostic[] = [];
  parseLines(cleanLogLines(log), out, 0, 'build');
  return out;
}
