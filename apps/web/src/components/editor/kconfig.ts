import type { StreamParser, StringStream } from '@codemirror/language';

/**
 * A small stream mode for ESP-IDF's Kconfig files (Kconfig, Kconfig.projbuild): keywords, the symbol a `config`
 * defines, types, strings, numbers, y/n/m, operators, comments, and `help` text (the indented block after it).
 */
export interface KconfigState {
  /** Inside a help block: the indentation of the `help` line, else -1. */
  helpOf: number;
  /** The indentation of the help text's first line (-1 until it is seen). */
  helpIndent: number;
  /** The next word is the symbol a `config` / `menuconfig` / `choice` defines. */
  defines: boolean;
}

const BLOCKS = new Set([
  'mainmenu',
  'menu',
  'endmenu',
  'config',
  'menuconfig',
  'choice',
  'endchoice',
  'comment',
  'if',
  'endif',
  'source',
  'rsource',
  'osource',
  'orsource',
]);
const ATTRIBUTES = new Set([
  'prompt',
  'default',
  'def_bool',
  'def_tristate',
  'def_int',
  'def_hex',
  'def_string',
  'depends',
  'on',
  'select',
  'imply',
  'range',
  'visible',
  'option',
  'optional',
  'env',
  'modules',
]);
const TYPES = new Set(['bool', 'tristate', 'int', 'hex', 'string', 'float']);

function inHelp(stream: StringStream, state: KconfigState): boolean {
  if (state.helpOf < 0 || !stream.sol()) return false;
  const ind = stream.indentation();
  if (state.helpIndent < 0) state.helpIndent = ind > state.helpOf ? ind : -1;
  if (state.helpIndent >= 0 && ind >= state.helpIndent) return true;
  state.helpOf = -1;
  state.helpIndent = -1;
  return false;
}

export const kconfig: StreamParser<KconfigState> = {
  name: 'kconfig',
  startState: () => ({ helpOf: -1, helpIndent: -1, defines: false }),
  copyState: (s) => ({ ...s }),
  token(stream, state) {
    // A bare `choice` defines no symbol: a new line ends the expectation.
    if (stream.sol()) state.defines = false;
    if (inHelp(stream, state)) {
      stream.skipToEnd();
      return 'comment';
    }
    if (stream.eatSpace()) return null;
    const ch = stream.peek();
    if (ch === '#') {
      stream.skipToEnd();
      return 'comment';
    }
    if (ch === '"' || ch === "'") {
      stream.next();
      let escaped = false;
      for (let c = stream.next(); c != null; c = stream.next()) {
        if (c === ch && !escaped) break;
        escaped = !escaped && c === '\\';
      }
      return 'string';
    }
    if (stream.match(/^(?:0x[0-9a-fA-F]+|-?\d+)\b/)) return 'number';
    if (stream.match(/^(?:\|\||&&|!=|<=|>=|[=!<>()])/)) return 'operator';
    if (stream.match(/^-{3}help-{3}/)) {
      state.helpOf = stream.indentation();
      state.helpIndent = -1;
      return 'keyword';
    }
    const word = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/) as RegExpMatchArray | null;
    if (!word) {
      stream.next();
      return null;
    }
    const w = word[0];
    if (state.defines) {
      state.defines = false;
      return 'def';
    }
    if (w === 'help') {
      state.helpOf = stream.indentation();
      state.helpIndent = -1;
      return 'keyword';
    }
    if (BLOCKS.has(w)) {
      state.defines = w === 'config' || w === 'menuconfig' || w === 'choice';
      return 'keyword';
    }
    if (ATTRIBUTES.has(w)) return 'keyword';
    if (TYPES.has(w)) return 'typeName';
    if (w === 'y' || w === 'n' || w === 'm') return 'atom';
    return 'variableName';
  },
  languageData: { commentTokens: { line: '#' } },
};
