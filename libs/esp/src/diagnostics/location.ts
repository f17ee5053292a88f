/** `file:line[:column]` at the start of a message, and what follows it. */
export interface Located {
  file: string;
  line: number;
  column?: number;
  /** The text after the location's last colon. */
  rest: string;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isLetter = (c: number) => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;

/** Digits starting at s[i]: the index after them (i when there are none). */
function digitsEnd(s: string, i: number): number {
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  return i;
}

/** Whether s[i] is the colon of a Windows drive (`C:/`, `c:\`) at the start or after another colon. */
export function isDriveColon(s: string, i: number): boolean {
  if (i < 1 || !isLetter(s.charCodeAt(i - 1))) return false;
  if (i >= 2 && s.charCodeAt(i - 2) !== 0x3a) return false;
  const n = s.charCodeAt(i + 1);
  return n === 0x2f || n === 0x5c;
}

/**
 * Parse `file:line:`, `file:line:column:` (gcc, Kconfig, make, ld with debug info). Linear: each colon is looked at
 * once and the digits after it at most twice. The file may hold a drive letter and spaces but not `: `.
 */
export function parseLocation(s: string): Located | undefined {
  let from = isDriveColon(s, 1) ? 2 : 0;
  for (;;) {
    const colon = s.indexOf(':', from);
    if (colon <= 0) return undefined;
    if (s.charCodeAt(colon + 1) === 0x20) return undefined; // "word: text" — the file ended without a line
    const lineEnd = digitsEnd(s, colon + 1);
    if (lineEnd > colon + 1 && s.charCodeAt(lineEnd) === 0x3a) {
      const file = s.slice(0, colon);
      const line = Number(s.slice(colon + 1, lineEnd));
      const colEnd = digitsEnd(s, lineEnd + 1);
      if (colEnd > lineEnd + 1 && s.charCodeAt(colEnd) === 0x3a)
        return { file, line, column: Number(s.slice(lineEnd + 1, colEnd)), rest: s.slice(colEnd + 1) };
      return { file, line, rest: s.slice(lineEnd + 1) };
    }
    from = colon + 1;
  }
}

/** `obj.o:src.c` → `src.c`, `lib.a(x.o):/p/src.c` → `/p/src.c`: the part after the last colon that is not a drive's. */
export function lastPathOf(s: string): string {
  let c = s.lastIndexOf(':');
  while (c > 0 && isDriveColon(s, c)) c = s.lastIndexOf(':', c - 2);
  return c >= 0 ? s.slice(c + 1) : s;
}

/** The file name after the last `/` or `\`. */
export function baseName(file: string): string {
  const k = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return k >= 0 ? file.slice(k + 1) : file;
}
