import { normalizeTarPath, type TarEntry } from '@aegis/esp';

/** Folders never uploaded: build outputs and VCS data (they are large and the machine rebuilds them). */
const SKIP_DIRS = new Set(['build', '.git', 'node_modules', 'managed_components', '.pio', '.vscode']);

/**
 * Turns a picked folder or unpacked zip into project files: drops a single common top folder (the project
 * folder itself), skips build output, refuses paths that escape the project.
 */
export function toProjectFiles(entries: TarEntry[]): TarEntry[] {
  // Validate before anything else: a '..' must be refused, never stripped away as a "top folder".
  let files = entries.map((e) => ({ ...e, path: normalizeTarPath(e.path) }));
  const tops = new Set(files.map((f) => f.path.split('/')[0]));
  if (tops.size === 1 && files.every((f) => f.path.includes('/'))) {
    const top = [...tops][0] + '/';
    files = files.map((f) => ({ ...f, path: f.path.slice(top.length) }));
  }
  return files
    .filter(
      (f) =>
        !f.path
          .split('/')
          .slice(0, -1)
          .some((d) => SKIP_DIRS.has(d)),
    )
    .map((f) => ({ ...f, path: normalizeTarPath(f.path) }));
}

export async function readPickedFiles(list: FileList): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for (const f of Array.from(list)) {
    const path = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    out.push({ path, data: new Uint8Array(await f.arrayBuffer()) });
  }
  return out;
}

/** Defaults a project declares for itself: `.idf-version`, then `[build]` in `.espctl.toml`. */
export function projectDefaults(files: TarEntry[]): { target?: string; idf_version?: string; profile?: string } {
  const text = (p: string) => {
    const f = files.find((x) => x.path === p);
    return f ? new TextDecoder().decode(f.data) : null;
  };
  const out: { target?: string; idf_version?: string; profile?: string } = {};
  const toml = text('.espctl.toml');
  if (toml) {
    let section = '';
    for (const raw of toml.split(/\r?\n/)) {
      const line = raw.replace(/#.*$/, '').trim();
      const sec = /^\[([^\]]+)\]$/.exec(line);
      if (sec) section = sec[1].trim();
      const kv = /^(\w+)\s*=\s*"([^"]*)"$/.exec(line);
      if (kv && section === 'build' && (kv[1] === 'target' || kv[1] === 'idf_version' || kv[1] === 'profile'))
        out[kv[1]] = kv[2];
    }
  }
  const idf = text('.idf-version')?.trim();
  if (idf) out.idf_version = idf;
  return out;
}
