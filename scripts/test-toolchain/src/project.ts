import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';

/** What idf.py needs from a project's top-level CMakeLists.txt (a small, honest subset of CMake). */
export interface CmakeProject {
  name: string;
  /** `set(PROJECT_VER "…")`, else version.txt, else "1" (ESP-IDF's fallback without git). */
  version: string;
  /** `execute_process(COMMAND …)` calls, run at configure time like CMake does. */
  executeProcesses: Array<{ command: string[]; workingDirectory?: string }>;
}

/** Splits CMake arguments: whitespace-separated, "quoted strings" with \" and \\ escapes. */
export function cmakeArgs(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let s = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) {
          const n = text[i + 1];
          s += n === 'n' ? '\n' : n === 't' ? '\t' : n;
          i += 2;
        } else s += text[i++];
      }
      i++;
      out.push(s);
    } else {
      let s = '';
      while (i < text.length && !/\s/.test(text[i])) s += text[i++];
      out.push(s);
    }
  }
  return out;
}

/** Finds `name(` … matching `)` calls (parentheses inside quotes are skipped). */
function calls(text: string, name: string): string[] {
  const res: string[] = [];
  const noComments = text.replace(/(^|[^"\\])#[^\n]*/g, '$1');
  const re = new RegExp(`\\b${name}\\s*\\(`, 'gi');
  let m: RegExpExecArray | null;
  while ((m = re.exec(noComments))) {
    let depth = 1;
    let j = m.index + m[0].length;
    let inQuote = false;
    const start = j;
    for (; j < noComments.length && depth > 0; j++) {
      const ch = noComments[j];
      if (ch === '\\' && inQuote) j++;
      else if (ch === '"') inQuote = !inQuote;
      else if (!inQuote && ch === '(') depth++;
      else if (!inQuote && ch === ')') depth--;
    }
    res.push(noComments.slice(start, j - 1));
  }
  return res;
}

export function readCmakeProject(projectDir: string, vars: Record<string, string>): CmakeProject {
  const file = path.join(projectDir, 'CMakeLists.txt');
  if (!existsSync(file)) {
    throw new Error(
      `Directory '${projectDir}' doesn't contain a CMakeLists.txt file. Run idf.py in a project directory or pass -C <dir>.`,
    );
  }
  const text = readFileSync(file, 'utf8');
  const expand = (s: string): string => s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, k: string) => vars[k] ?? '');
  const projectCall = calls(text, 'project')[0];
  const name = projectCall ? cmakeArgs(projectCall)[0] : undefined;
  if (!name) throw new Error(`${file} has no project(<name>) call; ESP-IDF projects need one.`);
  let version = '1';
  for (const c of calls(text, 'set')) {
    const a = cmakeArgs(c).map(expand);
    if (a[0] === 'PROJECT_VER' && a[1] !== undefined) version = a[1];
  }
  const versionTxt = path.join(projectDir, 'version.txt');
  if (version === '1' && existsSync(versionTxt)) version = readFileSync(versionTxt, 'utf8').trim() || '1';
  const executeProcesses: CmakeProject['executeProcesses'] = [];
  for (const c of calls(text, 'execute_process')) {
    const a = cmakeArgs(c).map(expand);
    const cmdAt = a.indexOf('COMMAND');
    if (cmdAt < 0) continue;
    const keywords = new Set(['WORKING_DIRECTORY', 'RESULT_VARIABLE', 'OUTPUT_VARIABLE', 'ERROR_VARIABLE', 'TIMEOUT']);
    let end = cmdAt + 1;
    while (end < a.length && !keywords.has(a[end]) && a[end] !== 'COMMAND') end++;
    const wdAt = a.indexOf('WORKING_DIRECTORY');
    executeProcesses.push({ command: a.slice(cmdAt + 1, end), workingDirectory: wdAt >= 0 ? a[wdAt + 1] : undefined });
  }
  return { name, version, executeProcesses };
}

/** sdkconfig as key → value (strings unquoted; `# CONFIG_X is not set` → 'n'). */
export type Sdkconfig = Map<string, string>;

export function readSdkconfig(file: string): Sdkconfig | undefined {
  if (!existsSync(file)) return undefined;
  const map: Sdkconfig = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const notSet = /^# (CONFIG_[A-Za-z0-9_]+) is not set/.exec(line);
    if (notSet) map.set(notSet[1], 'n');
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) map.set(m[1], m[2].startsWith('"') ? m[2].slice(1, -1).replace(/\\"/g, '"') : m[2]);
  }
  return map;
}

export function writeSdkconfig(file: string, cfg: Sdkconfig, idfVersion: string): void {
  const lines = [
    '#',
    '# Automatically generated file. DO NOT EDIT.',
    `# Espressif IoT Development Framework (ESP-IDF) ${idfVersion} Project Configuration`,
    '#',
  ];
  for (const [k, v] of cfg) {
    if (v === 'n') lines.push(`# ${k} is not set`);
    else if (v === 'y' || /^-?(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) lines.push(`${k}=${v}`);
    else lines.push(`${k}="${v.replace(/"/g, '\\"')}"`);
  }
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, lines.join('\n') + '\n');
  renameSync(tmp, file);
}
