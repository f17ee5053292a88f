import type { BuildDiagnostic, LogLine } from '@aegis/protocol';
import { isProjectFile, parseBuildDiagnostics } from '@aegis/esp';
import { stripAnsi } from '../ansi';

/** One step of gcc's "In file included from" chain: where a header was included. */
export interface IncludeSite {
  /** Shortened to the project (main/…) when it is inside it. */
  file: string;
  line: number;
  inProject: boolean;
  /** Log line of the "In file included from" line. */
  seq: number;
}

export interface Diagnostic {
  severity: 'error' | 'warning';
  /** Path shortened to the project (main/…, components/…) when it is inside it. */
  file: string;
  line: number;
  column: number | null;
  message: string;
  /** Log line the diagnostic came from, so the list can jump to it (-1 when not found). */
  seq: number;
  /** In the user's project: not ESP-IDF, a toolchain, a managed component or the build directory. */
  inProject: boolean;
  /** For a diagnostic in a header: gcc's include chain, the header's own include first, the compiled file last. */
  includedFrom: IncludeSite[];
}

/** The project is at /ws/project in the build sandbox. */
export const PROJECT_DIR = '/ws/project';
/** The project is at /ws/project in the build sandbox: paths there become project-relative, others stay whole. */
const PROJECT_PREFIX = /^(?:\/ws\/project\/|(?:\.\.\/)+(?=main\/|components\/))/;
export function projectRelative(file: string): string {
  return file.replace(PROJECT_PREFIX, '');
}

/** Generated files and downloaded components live in the project folder but are not the user's code. */
const NOT_USER = /^(?:\/ws\/project\/)?(?:build|managed_components)\//;
export function isUserFile(file: string): boolean {
  return isProjectFile(file, PROJECT_DIR) && !NOT_USER.test(file);
}

/** A diagnostic as found, before duplicates and build-driver summaries are dropped and the list is ranked. */
interface Found {
  d: BuildDiagnostic;
  seq: number;
  includedFrom: IncludeSite[];
}

/** `In file included from main.c:3:` / `                 from a.h:2,` (gcc and g++). */
const INCLUDED = /^(In file included from|\s+from) (.+?):(\d+)(?::\d+)?[:,]$/;
/** Lines that end one compiler run's output: an include chain never reaches past them. */
const RUN_END = /^(?:\[\d+\/\d+\] |FAILED: |ninja: |Building |Linking |compilation terminated)/;

/** gcc's include chains, attached to the diagnostics in the header they lead to (and later ones in the same file). */
function attachIncludeChains(
  rows: readonly string[],
  found: readonly BuildDiagnostic[],
  seqOfRow: (r: number) => number,
) {
  const chains: IncludeSite[][] = found.map(() => []);
  let collecting: IncludeSite[] | null = null;
  let context: { file: string | null; chain: IncludeSite[] } | null = null;
  let k = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const m = INCLUDED.exec(row);
    if (m && (m[1].startsWith('In') || collecting)) {
      if (m[1].startsWith('In') || !collecting) collecting = [];
      const file = m[2];
      collecting.push({
        file: projectRelative(file),
        line: Number(m[3]),
        inProject: isUserFile(file),
        seq: seqOfRow(r),
      });
      context = null;
    } else {
      if (collecting) context = { file: null, chain: collecting };
      collecting = null;
      if (RUN_END.test(row.trimStart())) context = null;
    }
    for (; k < found.length && (found[k].log_line ?? -1) <= r; k++) {
      const d = found[k];
      if ((d.log_line ?? -1) < r) continue;
      if (context && context.file === null) context.file = d.file;
      if (context && d.file === context.file) chains[k] = context.chain;
      else if (context && d.severity !== 'note') context = null;
    }
  }
  return chains;
}

/**
 * Parse one stretch of the log (libs/esp's parser, every ESP-IDF tool) and tie each diagnostic to its LogLine.
 * log_line counts '\n'-separated lines of the joined text: each is mapped back to the LogLine holding it.
 */
function parseLines(lines: readonly LogLine[]): Found[] {
  if (!lines.length) return [];
  const text = lines.map((l) => l.text).join('\n');
  const found = parseBuildDiagnostics(text);
  if (!found.length) return [];
  const owner: number[] = [];
  lines.forEach((l, k) => {
    owner.push(k);
    for (let p = l.text.indexOf('\n'); p >= 0; p = l.text.indexOf('\n', p + 1)) owner.push(k);
  });
  const seqOfRow = (r: number) => (owner[r] !== undefined ? lines[owner[r]].seq : -1);
  const chains = attachIncludeChains(text.split('\n').map(stripAnsi), found, seqOfRow);
  return found.map((d, k) => ({
    d,
    seq: d.log_line !== undefined ? seqOfRow(d.log_line) : -1,
    includedFrom: chains[k],
  }));
}

/** Where a diagnostic ranks: the user's own errors first, so the first entry is the one to fix. */
function rankOf(x: Diagnostic): number {
  if (x.severity === 'error') {
    if (x.inProject) return 0;
    // A header error reached from the user's file (a macro or include order of theirs broke ESP-IDF's header).
    if (x.includedFrom.some((s) => s.inProject)) return 1;
    return x.file ? 2 : 3;
  }
  return x.inProject ? 4 : 5;
}

/**
 * The list the dashboard shows: notes and infos dropped, build-driver summaries (`ninja: build stopped`) only when
 * nothing says more, each diagnostic once, then ranked: errors in the user's files, errors in headers they
 * included, other errors, the user's warnings, other warnings; log order within a rank.
 */
export function rankDiagnostics(found: readonly Found[]): Diagnostic[] {
  const causes = found.some(({ d }) => !d.summary && (d.severity === 'error' || d.severity === 'fatal'));
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const { d, seq, includedFrom } of found) {
    if (d.severity === 'note' || d.severity === 'info' || (causes && d.summary)) continue;
    // The same error often repeats (ninja reprints it); one entry each is enough.
    const key = `${d.file}:${d.line}:${d.column}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      severity: d.severity === 'warning' ? 'warning' : 'error',
      file: projectRelative(d.file),
      line: d.line,
      column: d.column ?? null,
      message: d.message,
      seq,
      inProject: isUserFile(d.file),
      includedFrom,
    });
  }
  return out
    .map((x, i) => ({ x, i, r: rankOf(x) }))
    .sort((a, b) => a.r - b.r || a.i - b.i)
    .map((e) => e.x);
}

/** Errors and warnings of a whole log, parsed in one pass (the reference the incremental parser must equal). */
export function diagnosticsOf(lines: readonly LogLine[]): Diagnostic[] {
  return rankDiagnostics(parseLines(lines));
}

/**
 * A line where the parser's state is what it is at the start of a log (C compile or link: language gcc, phase
 * build) and no multi-line diagnostic runs on into it (ninja's progress prefix ends every one): the log is cut
 * into independent stretches there.
 */
const STRETCH_START = /^\[\d+\/\d+\] (?:Building C |Building ASM|Linking C )/;
function isStretchStart(l: LogLine): boolean {
  // A coloured line starts with ESC, never '[': one character tells most lines apart before the pattern runs.
  return l.text.charCodeAt(0) === 0x5b && STRETCH_START.test(l.text);
}
/** The open stretch is re-parsed on every update while it is this short; longer ones when they grew by a quarter. */
const ALWAYS_REPARSE = 512;

/**
 * The diagnostics of a growing log, parsing only what is new: the log is cut into stretches at ninja's
 * `Building C …` lines; a closed stretch is parsed once, the open one at the end again as it grows (a gcc
 * diagnostic with its include chain, source excerpt and notes may be split across frames). Equal to
 * `diagnosticsOf` over the same lines, however they were chunked (once `finish` ran, or while `exact`).
 */
export class IncrementalDiagnostics {
  private closed: Found[] = [];
  private open: LogLine[] = [];
  private openFound: Found[] = [];
  private openParsedLength = 0;
  private list: Diagnostic[] = [];
  private dirty = false;

  /** onParse: told how many lines each parse read (tests count the work with it). */
  constructor(private readonly o: { onParse?: (lines: number) => void } = {}) {}

  push(lines: readonly LogLine[]): void {
    // Every line before the last stretch start of this update is closed: parsed now, once, in one block (the
    // stretches of a block parse as they would one by one, so a flood of short stretches is one call, not many).
    let last = -1;
    for (let k = 0; k < lines.length; k++) if (isStretchStart(lines[k])) last = k;
    if (last > 0 || (last === 0 && this.open.length)) {
      if (last > 0 || this.openParsedLength !== this.open.length) {
        for (let k = 0; k < last; k++) this.open.push(lines[k]);
        const found = this.parse();
        if (found.length || this.openFound.length) this.dirty = true;
        this.openFound = found;
      }
      this.close();
      for (let k = last; k < lines.length; k++) this.open.push(lines[k]);
    } else {
      for (const l of lines) this.open.push(l);
    }
    const n = this.open.length;
    if (n <= ALWAYS_REPARSE || n >= this.openParsedLength * 1.25) this.parseOpen();
  }

  /** Parse whatever is still pending (the build ended). */
  finish(): void {
    if (this.open.length !== this.openParsedLength) this.parseOpen();
  }

  /** Whether the list covers every line pushed so far. */
  get exact(): boolean {
    return this.open.length === this.openParsedLength;
  }

  /** Ranked diagnostics; the same array until something changed, so React skips re-rendering the list. */
  get diagnostics(): Diagnostic[] {
    if (this.dirty) {
      this.list = rankDiagnostics(this.openFound.length ? this.closed.concat(this.openFound) : this.closed);
      this.dirty = false;
    }
    return this.list;
  }

  /** The open lines (parsed: openFound) become closed. */
  private close(): void {
    for (const f of this.openFound) this.closed.push(f);
    this.open = [];
    this.openFound = [];
    this.openParsedLength = 0;
  }

  private parse(): Found[] {
    this.o.onParse?.(this.open.length);
    return parseLines(this.open);
  }

  private parseOpen(): void {
    const found = this.parse();
    if (found.length || this.openFound.length) this.dirty = true;
    this.openFound = found;
    this.openParsedLength = this.open.length;
  }
}

/** Lines parsed per task: libs/esp reads a few µs per line, so a slice stays far below a 50 ms long task. */
export const PARSE_SLICE_LINES = 500;

/**
 * Feeds a growing log to IncrementalDiagnostics off the path that renders it: new lines are queued and parsed a
 * slice per task, so a replay page of thousands of lines never holds the main thread for long. `publish` hears
 * the ranked list each time it changed; after `end` (the build is over) the list covers every line.
 */
export class DiagnosticsFeed {
  private readonly inc = new IncrementalDiagnostics();
  private queue: LogLine[] = [];
  private at = 0;
  private scheduled = false;
  private ended = false;
  private last: Diagnostic[] = [];
  private readonly schedule: (fn: () => void) => unknown;

  constructor(
    private readonly o: {
      publish: (diagnostics: Diagnostic[]) => void;
      schedule?: (fn: () => void) => unknown;
      sliceLines?: number;
    },
  ) {
    this.schedule = o.schedule ?? ((fn) => setTimeout(fn, 0));
  }

  push(lines: readonly LogLine[]): void {
    for (const l of lines) this.queue.push(l);
    this.kick();
  }

  /** No more lines will come: parse what the incremental parser kept for later too. */
  end(): void {
    this.ended = true;
    this.kick();
  }

  private kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => this.work());
  }

  private work(): void {
    this.scheduled = false;
    const n = this.o.sliceLines ?? PARSE_SLICE_LINES;
    if (this.at < this.queue.length) {
      this.inc.push(this.queue.slice(this.at, this.at + n));
      this.at += n;
      if (this.at >= this.queue.length) {
        this.queue = [];
        this.at = 0;
      }
    }
    if (this.at < this.queue.length) this.kick();
    else if (this.ended) this.inc.finish();
    const d = this.inc.diagnostics;
    if (d !== this.last) {
      this.last = d;
      this.o.publish(d);
    }
  }
}
