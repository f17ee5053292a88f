import { parse, stringify, TomlError } from 'smol-toml';
import { EspctlToml } from '@aegis/protocol';
import { EspctlError } from '../errors.js';

export const ESPCTL_TOML = '.espctl.toml';

/**
 * Parse `.espctl.toml`. TOML syntax errors name the line and column; schema errors name the key and,
 * when it can be found, the line it is on.
 */
export function parseEspctlToml(text: string, file = ESPCTL_TOML): EspctlToml {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    if (err instanceof TomlError) {
      throw new EspctlError('config_syntax', `${file}:${err.line}:${err.column}: ${firstLine(err.message)}`, {
        line: err.line,
        column: err.column,
      });
    }
    throw err;
  }
  const r = EspctlToml.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  // Unknown keys are reported on the parent path with the key names in `keys`.
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const path = [...issue.path.map(String), ...keys.slice(0, 1)];
  const key = path.join('.') || '(root)';
  const line = findKeyLine(text, path);
  const where = line ? `${file}:${line}` : file;
  const what = issue.code === 'unrecognized_keys' ? `unknown key "${key}"` : `key "${key}": ${issue.message}`;
  throw new EspctlError('config_invalid', `${where}: ${what}.`, { key, line });
}

export function stringifyEspctlToml(config: EspctlToml): string {
  return stringify(config as Record<string, unknown>) + '\n';
}

function firstLine(s: string): string {
  return s.split('\n')[0].trim();
}

/** 1-based line of `a.b` (table `[a]` then key `b`), or of a top-level key/table; undefined if not found. */
export function findKeyLine(text: string, path: string[]): number | undefined {
  if (path.length === 0) return undefined;
  const lines = text.split(/\r?\n/);
  const leaf = path[path.length - 1];
  const table = path.slice(0, -1).join('.');
  let current = '';
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    const header = /^\[\s*([^\]]+?)\s*\]$/.exec(l);
    if (header) {
      current = header[1];
      if (path.length === 1 && current === leaf) return i + 1;
      continue;
    }
    const kv = /^([A-Za-z0-9_.-]+|"[^"]*")\s*=/.exec(l);
    if (!kv) continue;
    const name = kv[1].replace(/^"|"$/g, '');
    const full = current ? `${current}.${name}` : name;
    if (full === path.join('.') || (current === table && name === leaf)) return i + 1;
  }
  return undefined;
}
