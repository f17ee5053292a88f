/** A component of an ESP-IDF project, as found in its files (pure: the caller reads them). */
export interface ProjectComponent {
  name: string;
  /** Exact version when known (a lock or the component's own manifest), a range from idf_component.yml, or none. */
  version?: string;
  /**
   * `local`: main or components/<name>; `managed`: from the IDF Component Manager (dependencies.lock / yml);
   * `idf`: a component of ESP-IDF itself that the build linked (from project_description.json and the map).
   */
  source: 'local' | 'managed' | 'idf';
  /** Where it comes from (registry page or git URL), for managed components. */
  downloadLocation?: string;
  /** SPDX license expression from the component's idf_component.yml `license:`, when it has one. */
  license?: string;
}

const unquote = (s: string): string => s.trim().replace(/^["']|["']$/g, '');

/** The files `projectComponents` reads, out of a project's file list. */
export function componentManifestPaths(paths: readonly string[]): string[] {
  return paths.filter(
    (p) =>
      p === 'dependencies.lock' ||
      p === 'idf_component.yml' ||
      p === 'main/idf_component.yml' ||
      /^components\/[^/]+\/idf_component\.yml$/.test(p),
  );
}

/** Top-level scalar keys of an idf_component.yml (`version:`, `license:`). */
function topScalar(yml: string, key: string): string | undefined {
  const m = new RegExp(`^${key}:\\s*(\\S.*?)\\s*(?:#.*)?$`, 'm').exec(yml);
  return m ? unquote(m[1]) || undefined : undefined;
}

/** Dependencies listed in an idf_component.yml (`dependencies:` block, "name: version" or "name: {version: x}"). */
export function componentDependencies(yml: string): Array<{ name: string; version: string }> {
  const out: Array<{ name: string; version: string }> = [];
  let inDeps = false;
  let current: { name: string; version: string } | undefined;
  for (const raw of yml.split(/\r?\n/)) {
    if (/^dependencies:\s*$/.test(raw)) {
      inDeps = true;
      continue;
    }
    if (inDeps && /^\S/.test(raw)) inDeps = false;
    if (!inDeps) continue;
    const top = /^ {2}([^\s:#][^:]*):\s*(.*)$/.exec(raw);
    if (top) {
      // `name: {version: "x", ...}` (flow map) or `name: "x"`; a block map sets the version on the next lines.
      const flow = /^\{.*\bversion:\s*([^,}]+)/.exec(top[2].trim());
      const value = flow ? flow[1] : top[2].trim().startsWith('{') ? '' : top[2];
      current = { name: unquote(top[1]), version: unquote(value) || '*' };
      out.push(current);
      continue;
    }
    const nested = /^ {4,}version:\s*(.+)$/.exec(raw);
    if (nested && current) current.version = unquote(nested[1]);
  }
  return out;
}

export interface LockedComponent {
  name: string;
  version: string;
  /** `service` (the registry), `git`, `local` or `idf`. */
  type?: string;
  /** The git URL or registry service URL. */
  url?: string;
}

/**
 * The `dependencies:` map of an IDF Component Manager `dependencies.lock` (2-space YAML written by the tool):
 * each entry's `version` and `source.type` / `source.git` / `source.service_url`.
 */
export function lockedComponents(lock: string): LockedComponent[] {
  const out: LockedComponent[] = [];
  let inDeps = false;
  let cur: LockedComponent | undefined;
  let inSource = false;
  for (const raw of lock.split(/\r?\n/)) {
    if (/^dependencies:\s*$/.test(raw)) {
      inDeps = true;
      continue;
    }
    if (/^\S/.test(raw)) inDeps = false;
    if (!inDeps || raw.trim() === '') continue;
    const entry = /^ {2}([^\s:#][^:]*):\s*$/.exec(raw);
    if (entry) {
      cur = { name: unquote(entry[1]), version: '' };
      out.push(cur);
      inSource = false;
      continue;
    }
    if (!cur) continue;
    const field = /^ {4}(\w+):\s*(.*)$/.exec(raw);
    if (field) {
      inSource = field[1] === 'source';
      if (field[1] === 'version') cur.version = unquote(field[2]);
      continue;
    }
    const sub = /^ {6}(\w+):\s*(.*)$/.exec(raw);
    if (sub && inSource) {
      if (sub[1] === 'type') cur.type = unquote(sub[2]);
      if (sub[1] === 'git' || (sub[1] === 'service_url' && !cur.url)) cur.url = unquote(sub[2]);
    }
  }
  return out.filter((c) => c.version !== '');
}

/** The registry page of a managed component; bare names are in the `espressif/` namespace. */
export function registryLocation(name: string): string {
  const full = name.includes('/') ? name : `espressif/${name}`;
  return `https://components.espressif.com/components/${full}`;
}

/**
 * Every component of a project: `main`, each `components/<name>`, and the managed components, with exact
 * versions from `dependencies.lock` when there is one, else the ranges asked for in the idf_component.yml files.
 * `idf` itself (the framework) is left out: it is ESP-IDF, described on its own.
 */
export function projectComponents(
  paths: readonly string[],
  read: (path: string) => string | undefined,
): ProjectComponent[] {
  const out = new Map<string, ProjectComponent>();
  const localDirs = new Set<string>();
  for (const p of paths) {
    if (p.startsWith('main/')) localDirs.add('main');
    const m = /^components\/([^/]+)\/./.exec(p);
    if (m) localDirs.add(m[1]);
  }
  for (const name of [...localDirs].sort()) {
    const yml = read(name === 'main' ? 'main/idf_component.yml' : `components/${name}/idf_component.yml`) ?? '';
    out.set(name, { name, source: 'local', version: topScalar(yml, 'version'), license: topScalar(yml, 'license') });
  }
  const lock = read('dependencies.lock');
  const locked = lock ? lockedComponents(lock) : [];
  for (const c of locked) {
    if (c.name === 'idf' || c.type === 'idf' || c.type === 'local') continue;
    out.set(c.name, {
      name: c.name,
      version: c.version,
      source: 'managed',
      downloadLocation: c.type === 'git' && c.url ? `git+${c.url}` : registryLocation(c.name),
    });
  }
  for (const f of componentManifestPaths(paths).filter((p) => p.endsWith('idf_component.yml'))) {
    for (const d of componentDependencies(read(f) ?? '')) {
      if (d.name === 'idf' || out.has(d.name)) continue;
      // Without a lock, the range asked for is all that is known; a lock's exact version always wins.
      out.set(d.name, {
        name: d.name,
        version: d.version,
        source: 'managed',
        downloadLocation: registryLocation(d.name),
      });
    }
  }
  return [...out.values()];
}

/** The ESP-IDF version a `dependencies.lock` was resolved against, if it records one. */
export function lockedIdfVersion(lock: string): string | undefined {
  return lockedComponents(lock).find((c) => c.name === 'idf')?.version;
}
