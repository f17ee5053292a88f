/** One line of a build log after clean-up. */
export interface CleanLine {
  /** The text with every terminal escape sequence and other control character (but tab) removed. */
  text: string;
  /** 0-based index of the '\n'-separated line it came from (a CR-only break keeps the index). */
  index: number;
}

const ESC = 0x1b;
const BEL = 0x07;
const LF = 0x0a;
const CR = 0x0d;
const TAB = 0x09;
const C1_CSI = 0x9b;
const C1_OSC = 0x9d;

/** Skip a CSI sequence's parameter, intermediate and final bytes (ECMA-48); stops early at anything else. */
function skipCsi(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x3f) i++;
    else if (c >= 0x40 && c <= 0x7e) return i + 1;
    else return i;
  }
  return i;
}

/** Skip an OSC/DCS/SOS/PM/APC string up to BEL or ST (ESC \); a line break ends a string left unterminated. */
function skipString(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === BEL) return i + 1;
    if (c === ESC && s.charCodeAt(i + 1) === 0x5c) return i + 2;
    if (c === LF || c === CR) return i;
    i++;
  }
  return i;
}

/** Skip one escape sequence starting at s[i] === ESC; returns the index after it. */
function skipEscape(s: string, i: number): number {
  const next = s.charCodeAt(i + 1);
  if (Number.isNaN(next)) return i + 1;
  if (next === 0x5b) return skipCsi(s, i + 2); // ESC [
  // ESC ] (OSC: window titles), ESC P (DCS), ESC X (SOS), ESC ^ (PM), ESC _ (APC)
  if (next === 0x5d || next === 0x50 || next === 0x58 || next === 0x5e || next === 0x5f) return skipString(s, i + 2);
  // nF sequences: intermediates then one final byte (charset designation ESC ( B, ESC ) 0, ESC # 8, ESC % G …)
  if (next >= 0x20 && next <= 0x2f) {
    let j = i + 2;
    while (j < s.length && s.charCodeAt(j) >= 0x20 && s.charCodeAt(j) <= 0x2f) j++;
    return j < s.length && s.charCodeAt(j) !== LF && s.charCodeAt(j) !== CR ? j + 1 : j;
  }
  if (next === LF || next === CR) return i + 1;
  return i + 2; // two-byte sequences: ESC 7, ESC 8, ESC =, ESC >, ESC c, ESC M …
}

/**
 * Split a log into lines in one pass: CRLF, LF, CR-only and CR CR LF all end a line; every ANSI/VT escape (colours,
 * cursor moves, charset selection, OSC window titles) and other control character is dropped.
 */
export function cleanLogLines(log: string): CleanLine[] {
  const out: CleanLine[] = [];
  let parts: string[] = [];
  let index = 0;
  let runStart = 0;
  const flush = (end: number) => {
    if (end > runStart) parts.push(log.slice(runStart, end));
  };
  const endLine = () => {
    out.push({ text: parts.length === 1 ? parts[0] : parts.join(''), index });
    parts = [];
  };
  let i = 0;
  while (i < log.length) {
    const c = log.charCodeAt(i);
    if (c >= 0x20 && c !== 0x7f && c !== C1_CSI && c !== C1_OSC) {
      i++;
      continue;
    }
    if (c === TAB) {
      i++;
      continue;
    }
    flush(i);
    if (c === LF) {
      endLine();
      index++;
      i++;
    } else if (c === CR) {
      while (log.charCodeAt(i) === CR) i++;
      endLine();
      if (log.charCodeAt(i) === LF) {
        index++;
        i++;
      }
    } else if (c === ESC) i = skipEscape(log, i);
    else if (c === C1_CSI) i = skipCsi(log, i + 1);
    else if (c === C1_OSC) i = skipString(log, i + 1);
    else i++; // BEL, backspace, DEL and other controls
    runStart = i;
  }
  flush(i);
  if (parts.length) endLine();
  return out;
}
