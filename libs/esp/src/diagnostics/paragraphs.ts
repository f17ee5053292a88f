import type { DiagnosticSeverity, DiagnosticTool } from '@aegis/protocol';
import { emit, indentOf, unglue, type ParseState } from './types.js';

const HEAD = /^(ERROR|WARNING|HINT|Error|Warning): ?/;
/** A line that starts something else: it ends a paragraph. */
const STARTS_OTHER =
  /^(?:ERROR|WARNING|HINT|NOTICE|INFO|DEBUG|Error|Warning|CMake |-- |\[\d+\/\d+\]|ninja|FAILED|Traceback)/;
const MAX_LINES = 30;
/** pip's and ESP-IDF's Python environment checks print ERROR: too. */
const PYTHON_WORDS = /\bpython\b|\bpip\b|requirement|virtual environment/i;
const COMPONENT_WORDS = /dependenc|registry|version solving|idf_component\.yml|manifest|component manager/i;
const MAX_MESSAGE = 4000;

/**
 * `ERROR:` / `WARNING:` / `HINT:` paragraphs (the component manager, idf.py's hints; `Error:` from idf.py and
 * ESP-IDF's Python steps). The message runs on over the following lines up to a blank line or another header;
 * version-solving failures span several lines this way.
 */
export function parseParagraph(s: string, i: number, state: ParseState): number {
  const m = HEAD.exec(s);
  if (!m) return 0;
  const head = m[1].toUpperCase();
  const severity: DiagnosticSeverity = head === 'ERROR' ? 'error' : head === 'WARNING' ? 'warning' : 'info';
  const parts = [s.slice(m[0].length).trim()];
  const { lines } = state;
  let length = parts[0].length;
  for (let j = i + 1; j < lines.length && j <= i + MAX_LINES && length < MAX_MESSAGE; j++) {
    let tt = lines[j].text.trim();
    if (tt === '') {
      // The version solver's explanation goes on after a blank line: "So, because …", "- no versions of …".
      let k = j + 1;
      while (k < lines.length && k <= i + MAX_LINES && lines[k].text.trim() === '') k++;
      const next = k < lines.length ? lines[k].text : '';
      if (!/^\s*(?:So,|and |- )/.test(next) && !(indentOf(next) > indentOf(lines[i].text))) break;
      j = k;
      tt = next.trim();
    }
    if (STARTS_OTHER.test(unglue(tt)) || /^\S+:\d+:/.test(tt)) break;
    parts.push(tt);
    length += tt.length + 1;
  }
  let tool: DiagnosticTool;
  if (m[1] === 'Error' || m[1] === 'Warning')
    tool = /partition|binary|flash size/i.test(parts[0]) ? 'python' : 'idf.py';
  // The component manager runs inside CMake's configure step; idf.py prints its hints after a failed step.
  else if (state.phase === 'cmake' || (head !== 'HINT' && COMPONENT_WORDS.test(parts[0]))) tool = 'component-manager';
  else if (PYTHON_WORDS.test(parts[0])) tool = 'python';
  else tool = 'idf.py';
  const message = parts.join(' ');
  emit(state, i, {
    severity,
    message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message,
    tool,
  });
  // The continuation lines are this paragraph's; the next header is parsed on its own.
  return 1;
}

const BARE = /^(warning|error|info): /;
const KCONFIG_WORDS = /\bsymbol\b|kconfig|sdkconfig|\bchoice\b|\bmenu\b|config option/i;

/** kconfiglib's warnings without a place: `warning: the choice symbol X (defined at …) …`, `info: …`. */
export function parseBareKconfig(s: string, i: number, state: ParseState): number {
  const m = BARE.exec(s);
  if (!m) return 0;
  const rest = s.slice(m[0].length);
  if (!KCONFIG_WORDS.test(rest)) return 0;
  emit(state, i, { severity: m[1] as DiagnosticSeverity, message: rest, tool: 'kconfig' });
  return 1;
}
