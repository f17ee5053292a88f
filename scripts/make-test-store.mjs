#!/usr/bin/env node
/**
 * Makes the TEST TOOLCHAIN store (not ESP-IDF): `node scripts/make-test-store.mjs [dir]` (default `.test-store/`).
 *
 * Debian's riscv64-unknown-elf-gcc really compiles freestanding C for the RISC-V ESP chips; an `idf.py` that
 * keeps ESP-IDF's CLI contract drives it and writes images with libs/esp. The store is self-contained (the
 * sandbox exposes the store but not this repository): idf.py is bundled with libs/esp and its dependencies into
 * one file, and the compiler is reached through symlinks into /usr, which the sandbox mounts read-only.
 *
 * From code: `import { makeTestStore } from '<repo>/scripts/make-test-store.mjs'; await makeTestStore(dir)`.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOOLCHAIN_SRC = path.join(REPO, 'scripts', 'test-toolchain');
export const TEST_TOOLCHAIN_VERSION = 'test-1.0';
export const TEST_TOOLCHAIN_TARGETS = ['esp32c3', 'esp32c2', 'esp32c6', 'esp32h2'];
const BINUTILS = ['gcc', 'addr2line', 'size', 'objdump', 'readelf', 'nm'];
const PREFIX = 'riscv64-unknown-elf-';

/** Where Debian's compiler is, or undefined (then no test store can be made). */
export function findTestCompiler(searchPath = process.env.PATH ?? '/usr/bin:/bin') {
  for (const dir of ['/usr/bin', ...searchPath.split(':')]) {
    const p = path.join(dir, `${PREFIX}gcc`);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

async function sha256(file) {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

async function bundleIdf(outFile) {
  const { build } = await import('rolldown');
  const alias = {};
  for (const lib of ['protocol', 'esp']) alias[`@aegis/${lib}`] = path.join(REPO, 'libs', lib, 'src', 'index.ts');
  await build({
    input: path.join(TOOLCHAIN_SRC, 'src', 'idf.ts'),
    platform: 'node',
    logLevel: 'silent',
    resolve: {
      alias: {
        ...alias,
        '@aegis/esp/': path.join(REPO, 'libs', 'esp', 'src') + '/',
      },
      extensionAlias: { '.js': ['.ts', '.js'] },
    },
    plugins: [
      {
        // `@aegis/esp/<file>` → libs/esp/src/<file>.ts (same mapping as vitest and tsconfig paths).
        name: 'aegis-subpaths',
        resolveId(id) {
          const m = /^@aegis\/([a-z-]+)\/(.+)$/.exec(id);
          return m ? path.join(REPO, 'libs', m[1], 'src', `${m[2]}.ts`) : null;
        },
      },
    ],
    output: {
      file: outFile,
      format: 'esm',
      banner: '// Aegis TEST TOOLCHAIN idf.py (bundled; source: scripts/test-toolchain/src)',
    },
  });
}

async function listFiles(dir, base = dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, base)));
    else out.push(path.relative(base, p));
  }
  return out;
}

async function chmodTree(dir) {
  await chmod(dir, 0o755);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await chmodTree(p);
    else if (!e.isSymbolicLink()) await chmod(p, (await stat(p)).mode & 0o111 ? 0o755 : 0o644);
  }
}

/** Hash of everything the store is made from, so an up-to-date store is left alone. */
async function inputsFingerprint(version, gcc) {
  const h = createHash('sha256').update(`${version}\0${gcc}\0`);
  const roots = [TOOLCHAIN_SRC, path.join(REPO, 'libs', 'esp', 'src'), path.join(REPO, 'libs', 'protocol', 'src')];
  for (const r of roots) {
    for (const f of (await listFiles(r)).sort())
      h.update(`${path.relative(REPO, path.join(r, f))}\0`).update(await readFile(path.join(r, f)));
  }
  h.update(await readFile(fileURLToPath(import.meta.url)));
  h.update(await sha256(gcc));
  return h.digest('hex');
}

/** Host-wide lock on a store directory (tests in parallel workers make the same store); stale locks are taken over. */
async function withStoreLock(root, fn) {
  await mkdir(root, { recursive: true });
  const lock = path.join(root, '.make-test-store.lock');
  for (let i = 0; ; i++) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      const owner = Number(await readFile(lock, 'utf8').catch(() => '0'));
      let alive;
      try {
        process.kill(owner, 0);
        alive = owner > 0;
      } catch (err) {
        alive = err.code === 'EPERM';
      }
      if (!alive || i > 1200) await rm(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

/**
 * Creates (or refreshes) a test store at `dir` and returns its root and manifest. Other versions already in the
 * store's manifest are kept; a store already made from the same sources is left as it is (safe to call from
 * parallel test workers). Throws when Debian's riscv64-unknown-elf-gcc is not installed.
 */
export async function makeTestStore(dir = path.join(REPO, '.test-store'), opts = {}) {
  const version = opts.version ?? TEST_TOOLCHAIN_VERSION;
  const log = opts.log ?? (() => {});
  const gcc = findTestCompiler();
  if (!gcc) {
    throw new Error(
      `The test toolchain needs Debian's ${PREFIX}gcc; install it with apt-get install gcc-riscv64-unknown-elf ` +
        '(or provision real ESP-IDF with scripts/provision-store.sh).',
    );
  }
  const root = path.resolve(dir);
  return withStoreLock(root, () => makeLocked(root, version, gcc, log, opts.force === true));
}

async function makeLocked(root, version, gcc, log, force) {
  const rel = path.join('idf', version);
  const idfPath = path.join(root, rel);
  const manifestFile = path.join(root, 'manifest.json');
  const fingerprint = await inputsFingerprint(version, gcc);
  const stampFile = path.join(root, `.${version}.inputs`);
  if (!force && (await readFile(stampFile, 'utf8').catch(() => '')) === fingerprint) {
    try {
      const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
      const entry = manifest.versions?.find((v) => v.version === version);
      let intact = Boolean(entry);
      for (const t of entry?.tools ?? []) {
        if ((await sha256(path.join(root, t.path)).catch(() => '')) !== t.sha256) intact = false;
      }
      if (intact) {
        log(`test toolchain ${version} in ${root} is up to date`);
        return { root, manifest };
      }
    } catch {
      // fall through and rebuild
    }
  }
  const staging = `${idfPath}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(path.join(staging, 'tools', 'bin'), { recursive: true });

  await cp(path.join(TOOLCHAIN_SRC, 'idf', 'components'), path.join(staging, 'components'), { recursive: true });
  await writeFile(path.join(staging, 'version.txt'), `${version}\n`);
  await writeFile(
    path.join(staging, 'README.txt'),
    `Aegis TEST TOOLCHAIN ${version}: NOT ESP-IDF.\nCompiles freestanding C for ${TEST_TOOLCHAIN_TARGETS.join(', ')} with Debian's ${PREFIX}gcc;\n` +
      'idf.py keeps the ESP-IDF CLI contract. Made by scripts/make-test-store.mjs.\n',
  );
  await writeFile(
    path.join(staging, 'export.sh'),
    "# Test toolchain: puts idf.py and the compiler on PATH, like ESP-IDF's export.sh.\n" +
      `IDF_PATH="\${IDF_PATH:-${idfPath}}"\nexport IDF_PATH\nPATH="$IDF_PATH/tools:$IDF_PATH/tools/bin:$PATH"\nexport PATH\n`,
  );
  await writeFile(
    path.join(staging, 'tools', 'idf.py'),
    '#!/bin/sh\n# Aegis TEST TOOLCHAIN idf.py (not ESP-IDF): a Node program bundled with libs/esp.\n' +
      'exec node "$(dirname "$0")/idf.mjs" "$@"\n',
    { mode: 0o755 },
  );
  log(`bundling idf.py into ${path.join(idfPath, 'tools', 'idf.mjs')}`);
  await bundleIdf(path.join(staging, 'tools', 'idf.mjs'));
  for (const tool of BINUTILS) {
    const target = path.join(path.dirname(gcc), `${PREFIX}${tool}`);
    if (existsSync(target)) await symlink(target, path.join(staging, 'tools', 'bin', `${PREFIX}${tool}`));
  }
  await chmodTree(staging);
  await rm(idfPath, { recursive: true, force: true });
  await mkdir(path.dirname(idfPath), { recursive: true });
  await rename(staging, idfPath);

  // Every file of this IDF is checked at machine start: ours and the compiler binaries behind the symlinks.
  const tools = [];
  for (const f of (await listFiles(idfPath)).sort()) {
    const name = f.startsWith('tools/bin/') ? path.basename(f) : f;
    tools.push({ name, path: path.join(rel, f), sha256: await sha256(path.join(idfPath, f)) });
  }
  let versions;
  try {
    versions = JSON.parse(await readFile(manifestFile, 'utf8')).versions ?? [];
  } catch {
    versions = [];
  }
  const entry = {
    version,
    path: rel,
    default: versions.every((v) => v.version === version || !v.default),
    targets: TEST_TOOLCHAIN_TARGETS,
    tools,
    test_toolchain: true,
  };
  versions = [...versions.filter((v) => v.version !== version), entry];
  const manifest = { v: 1, versions };
  const tmp = `${manifestFile}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n', { mode: 0o644 });
  await rename(tmp, manifestFile);
  await chmod(root, 0o755);
  await writeFile(stampFile, fingerprint, { mode: 0o644 });
  log(`test toolchain ${version} ready in ${root} (${tools.length} files checksummed)`);
  return { root, manifest };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const dir = process.argv[2] ? path.resolve(process.argv[2]) : path.join(REPO, '.test-store');
  makeTestStore(dir, { log: (m) => console.log(m) }).catch((e) => {
    console.error(`make-test-store: ${e.message}`);
    process.exit(1);
  });
}
