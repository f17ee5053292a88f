/**
 * Skip a build whose inputs did not change: a sha256 over the paths and contents of its input files, kept in a
 * stamp file after the build succeeded. Contents, not mtimes, because a fresh clone or checkout touches every file.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Directory names never part of a build's inputs: outputs, dependencies, tests. */
const SKIP_DIRS = new Set(['node_modules', 'dist', '.next', 'test', 'coverage', 'test-results']);

function walk(abs, rel, out) {
  let st;
  try {
    st = statSync(abs);
  } catch {
    return; // an input that does not exist (yet) is simply not hashed
  }
  if (st.isDirectory()) {
    for (const name of readdirSync(abs).sort()) {
      if (SKIP_DIRS.has(name) || name.endsWith('.tsbuildinfo')) continue;
      walk(path.join(abs, name), `${rel}/${name}`, out);
    }
  } else if (st.isFile()) out.push([rel, abs]);
}

/** sha256 over every file under `inputs` (paths relative to `root`, files or directories). */
export function inputsHash(root, inputs) {
  const files = [];
  for (const i of inputs) walk(path.join(root, i), i, files);
  const h = createHash('sha256');
  for (const [rel, abs] of files) {
    h.update(`${rel}\0`);
    h.update(readFileSync(abs));
    h.update('\0');
  }
  return h.digest('hex');
}

/** True when `stampFile` holds `hash` and every output exists. */
export function upToDate(stampFile, hash, outputs) {
  if (!existsSync(stampFile) || !outputs.every((o) => existsSync(o))) return false;
  return readFileSync(stampFile, 'utf8').trim() === hash;
}

/** Records `hash` after a successful build; a rename, so a hard-linked copy of the old stamp is never written to. */
export function record(stampFile, hash) {
  mkdirSync(path.dirname(stampFile), { recursive: true });
  const tmp = `${stampFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${hash}\n`);
  renameSync(tmp, stampFile);
}
