import type { BuildDiagnostic } from '@aegis/protocol';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

/** gcc / clang: `file:line[:col]: error|warning|note|fatal error: message` (Windows drive letters allowed). */
const COMPILER =
  /^(?<file>(?:[A-Za-z]:)?[^:\n]+?):(?<line>\d+):(?:(?<col>\d+):)?\s+(?<sev>fatal error|error|warning|note):\s+(?<msg>.+)$/;
/** ld with debug info: `[.../ld: ]file:line: undefined reference to ...` (and similar). */
const LD_WITH_LINE =
  /^(?:\S*\bld(?:\.exe)?:\s+)?(?<file>(?:[A-Za-z]:)?[^:\n]+?):(?<line>\d+):\s+(?<msg>(?:undefined reference to|multiple definition of).+)$/;
/** ld without debug info: `[.../ld: ]file.c:(.text+0x8): undefined reference to ...`. */
const LD_SECTION = /^(?:\S*\bld(?:\.exe)?:\s+)?(?<file>(?:[A-Za-z]:)?[^:\n]+?):\([^)]*\):\s+(?<msg>.+)$/;
/** Any other line from the linker itself: `.../ld: [warning: ]message`. */
const LD_OTHER = /^(?<ld>\S*\bld(?:\.exe)?):\s+(?:(?<sev>warning|error):\s+)?(?<msg>.+)$/;
/** CMake: `CMake Error at CMakeLists.txt:12 (project):`, `CMake Warning (dev) at x.cmake:3 (message):`, `CMake Error in f:`. */
const CMAKE =
  /^CMake (?<kind>Error|Warning|Deprecation Warning|Deprecation Error)(?: \(dev\))? (?:at|in) (?<file>.+?)(?::(?<line>\d+))?(?: \([^)]*\))?:\s*$/;

function severityOf(raw: string): BuildDiagnostic['severity'] {
  if (raw.includes('rror')) return 'error';
  if (raw === 'note') return 'note';
  return 'warning';
}

/**
 * Pull compiler, linker and CMake diagnostics out of a build log (`parse_build_errors`). Lines that are context
 * (source excerpts, "In function", "collect2: … ld returned") are skipped; identical consecutive items are merged.
 */
export function parseBuildDiagnostics(log: string): BuildDiagnostic[] {
  const lines = log.replace(ANSI, '').split(/\r?\n/);
  const out: BuildDiagnostic[] = [];
  const push = (d: BuildDiagnostic) => {
    const last = out[out.length - 1];
    if (last && last.file === d.file && last.line === d.line && last.column === d.column && last.message === d.message)
      return;
    out.push(d);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/^\[\d+\/\d+\]\s+/, '');
    if (line.trim() === '' || /^\s/.test(line)) continue;

    const cm = CMAKE.exec(line);
    if (cm?.groups) {
      // The message is the indented block that follows, up to a blank line after some text.
      const body: string[] = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        const l = lines[j];
        if (l.trim() === '') {
          if (body.length) break;
          continue;
        }
        if (!/^\s/.test(l)) break;
        body.push(l.trim());
      }
      i = j - 1;
      push({
        file: cm.groups.file,
        line: cm.groups.line ? Number(cm.groups.line) : 0,
        severity: cm.groups.kind.includes('Error') ? 'error' : 'warning',
        message: body.join(' ') || `CMake ${cm.groups.kind.toLowerCase()}`,
        tool: 'cmake',
      });
      continue;
    }

    const cc = COMPILER.exec(line);
    if (cc?.groups) {
      push({
        file: cc.groups.file,
        line: Number(cc.groups.line),
        ...(cc.groups.col ? { column: Number(cc.groups.col) } : {}),
        severity: severityOf(cc.groups.sev),
        message: cc.groups.msg.trim(),
        tool: 'compiler',
      });
      continue;
    }

    const ldl = LD_WITH_LINE.exec(line);
    if (ldl?.groups) {
      push({
        file: ldl.groups.file,
        line: Number(ldl.groups.line),
        severity: 'error',
        message: ldl.groups.msg.trim(),
        tool: 'linker',
      });
      continue;
    }
    const lds = LD_SECTION.exec(line);
    if (lds?.groups && !/^\S*\bld(?:\.exe)?$/.test(lds.groups.file)) {
      push({ file: lds.groups.file, line: 0, severity: 'error', message: lds.groups.msg.trim(), tool: 'linker' });
      continue;
    }
    const ld = LD_OTHER.exec(line);
    if (ld?.groups && !/ in function [`'‘]/.test(line) && !/^collect2/.test(line)) {
      push({
        file: '',
        line: 0,
        severity: ld.groups.sev === 'warning' ? 'warning' : 'error',
        message: ld.groups.msg.trim(),
        tool: 'linker',
      });
    }
  }
  return out;
}
