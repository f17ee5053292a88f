/** Splits a line with ANSI SGR colour codes into styled segments; every other escape sequence is dropped. */
export interface AnsiSegment {
  text: string;
  fg: string | null;
  bold: boolean;
}

const COLORS = ['#6e7681', '#ff7b72', '#3fb950', '#d29922', '#58a6ff', '#bc8cff', '#39c5cf', '#d6dde6'];
const BRIGHT = ['#8b949e', '#ffa198', '#56d364', '#e3b341', '#79c0ff', '#d2a8ff', '#56d4dd', '#ffffff'];

// eslint-disable-next-line no-control-regex
const ESC_RE = /\x1b\[([0-9;]*)([A-Za-z])|\x1b[()][A-Za-z0-9]|\x1b[=>]|\r/g;

export function parseAnsi(line: string): AnsiSegment[] {
  const out: AnsiSegment[] = [];
  let fg: string | null = null;
  let bold = false;
  let last = 0;
  const push = (text: string) => {
    if (text) out.push({ text, fg, bold });
  };
  for (const m of line.matchAll(ESC_RE)) {
    push(line.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[2] !== 'm') continue;
    const codes = (m[1] || '0').split(';').map(Number);
    for (const c of codes) {
      if (c === 0) {
        fg = null;
        bold = false;
      } else if (c === 1) bold = true;
      else if (c === 22) bold = false;
      else if (c >= 30 && c <= 37) fg = COLORS[c - 30];
      else if (c >= 90 && c <= 97) fg = BRIGHT[c - 90];
      else if (c === 39) fg = null;
    }
  }
  push(line.slice(last));
  return out;
}

export function stripAnsi(line: string): string {
  return line.replace(ESC_RE, '');
}
