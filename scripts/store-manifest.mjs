#!/usr/bin/env node
/**
 * The manifest-writing step of scripts/provision-store.sh, on its own so it can be tested without the internet:
 *
 *   node scripts/store-manifest.mjs add --store <root> --version <v> --path idf/<v> --targets esp32,esp32c3
 *        [--commit <sha>] [--default] [--tool-dirs <dir>:<dir>] [--export <file>]
 *
 * `--export` names the script sourced before idf.py when it is not `<path>/export.sh` (the offline kit's).
 * Checksums idf.py, the export script and the toolchain binaries (gcc, addr2line, size, objdump…) found in the tool
 * directories, then replaces this version's entry in `<root>/manifest.json`, written atomically (temp + rename).
 * Needs the built libs/protocol (`npx tsc -b libs/protocol/tsconfig.build.json`): the target list is its `Target`.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Target } from '../libs/protocol/dist/index.js';

export const KNOWN_TARGETS = Target.options;
const TOOL_NAME = /(-(gcc|g\+\+|addr2line|size|objdump|readelf|nm|ld|as|gdb)|^cmake|^ninja|^esptool\.py)$/;

async function sha256(file) {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

function inside(root, p) {
  const rel = path.relative(root, p);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel))
    throw new Error(`${p} is not inside the store ${root}`);
  return rel;
}

/** Finds toolchain binaries in `dirs` (each must be inside the store). */
export async function findTools(root, dirs) {
  const tools = [];
  for (const dir of dirs) {
    inside(root, dir);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!TOOL_NAME.test(e.name)) continue;
      const p = path.join(dir, e.name);
      const st = await stat(p).catch(() => undefined);
      if (!st?.isFile() || !(st.mode & 0o111)) continue;
      if (tools.some((t) => t.name === e.name)) continue;
      tools.push({ name: e.name, path: inside(root, p), sha256: await sha256(p) });
    }
  }
  return tools.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Adds or replaces one IDF version in the store manifest. Returns the manifest written.
 * Bad input (unknown target, path outside the store, missing idf.py) throws and leaves the manifest unchanged.
 */
export async function addVersion(opts) {
  const root = path.resolve(opts.store);
  const version = String(opts.version ?? '').replace(/^v/, '');
  if (!/^[0-9A-Za-z][0-9A-Za-z.+-]{0,39}$/.test(version))
    throw new Error(`"${opts.version}" is not an IDF version like 5.3.1`);
  const idfDir = path.resolve(root, opts.path ?? path.join('idf', version));
  const rel = inside(root, idfDir);
  const targets = [...new Set(opts.targets ?? [])];
  if (targets.length === 0) throw new Error('no targets given (--targets esp32,esp32c3,…)');
  const unknown = targets.filter((t) => !KNOWN_TARGETS.includes(t));
  if (unknown.length) throw new Error(`unknown target(s) ${unknown.join(', ')}; known: ${KNOWN_TARGETS.join(', ')}`);
  if (opts.commit !== undefined && !/^[0-9a-f]{7,64}$/.test(opts.commit))
    throw new Error(`"${opts.commit}" is not a git commit`);

  const exportFile = opts.export ? path.resolve(opts.export) : path.join(idfDir, 'export.sh');
  const exportRel = inside(root, exportFile);
  const tools = [];
  for (const [name, p] of [
    ['tools/idf.py', path.join(idfDir, 'tools/idf.py')],
    ['export.sh', exportFile],
  ]) {
    const digest = await sha256(p).catch(() => undefined);
    if (!digest) throw new Error(`${p} is missing; is ${idfDir} an ESP-IDF checkout?`);
    tools.push({ name, path: path.relative(root, p), sha256: digest });
  }
  tools.push(
    ...(await findTools(
      root,
      (opts.toolDirs ?? []).map((d) => path.resolve(d)),
    )),
  );

  const manifestFile = path.join(root, 'manifest.json');
  let versions = [];
  const existing = await readFile(manifestFile, 'utf8').catch(() => undefined);
  if (existing !== undefined) {
    const parsed = JSON.parse(existing);
    if (parsed?.v !== 1 || !Array.isArray(parsed.versions)) throw new Error(`${manifestFile} is not a store manifest`);
    versions = parsed.versions.filter((v) => v.version !== version);
  }
  if (opts.default) versions = versions.map((v) => ({ ...v, default: false }));
  const entry = {
    version,
    path: rel,
    ...(opts.commit ? { commit: opts.commit } : {}),
    ...(opts.export ? { export_script: exportRel } : {}),
    default: Boolean(opts.default) || !versions.some((v) => v.default),
    targets,
    tools,
  };
  const manifest = { v: 1, versions: [...versions, entry] };
  const tmp = `${manifestFile}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n', { mode: 0o644 });
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  await rename(tmp, manifestFile);
  return manifest;
}

function parseCli(argv) {
  const [cmd, ...rest] = argv;
  const o = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--default') o.default = true;
    else if (a === '--targets') o.targets = rest[++i].split(/[,\s]+/).filter(Boolean);
    else if (a === '--tool-dirs') o.toolDirs = rest[++i].split(':').filter(Boolean);
    else if (['--store', '--version', '--path', '--commit', '--export'].includes(a)) o[a.slice(2)] = rest[++i];
    else throw new Error(`unknown option ${a}`);
  }
  if (cmd !== 'add')
    throw new Error('usage: store-manifest.mjs add --store <root> --version <v> --targets <t,…> [...]');
  return o;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    const m = await addVersion(parseCli(process.argv.slice(2)));
    const e = m.versions.at(-1);
    console.log(
      `store manifest: IDF ${e.version} with ${e.tools.length} checksummed tools, targets ${e.targets.join(', ')}`,
    );
  } catch (e) {
    console.error(`store-manifest: ${e.message}`);
    process.exit(1);
  }
}
