import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addVersion } from '../../../../scripts/store-manifest.mjs';
import { inventory, loadStore } from '../../src/store/store.js';

const REPO = path.resolve(__dirname, '../../../..');
let root: string;
let fixtureRepo: string;

/**
 * A local stand-in for github.com/espressif/esp-idf: a git repository tagged v5.3.1 and v5.2.2 whose install.sh,
 * export.sh and idf.py behave like ESP-IDF's (tools under IDF_TOOLS_PATH, PATH from export.sh, --list-targets).
 */
async function makeFixtureRepo(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'tools'), { recursive: true });
  await writeFile(
    path.join(dir, 'install.sh'),
    `#!/bin/sh
set -e
bin="$IDF_TOOLS_PATH/tools/riscv32-esp-elf/esp-13.2.0/riscv32-esp-elf/bin"
mkdir -p "$bin"
for t in gcc addr2line size; do printf '#!/bin/sh\\necho riscv32-esp-elf-%s\\n' "$t" > "$bin/riscv32-esp-elf-$t"; chmod +x "$bin/riscv32-esp-elf-$t"; done
echo "All done! You can now run: . ./export.sh"
`,
  );
  await writeFile(
    path.join(dir, 'export.sh'),
    'PATH="$IDF_TOOLS_PATH/tools/riscv32-esp-elf/esp-13.2.0/riscv32-esp-elf/bin:$IDF_PATH/tools:$PATH"\nexport PATH\n',
  );
  await writeFile(
    path.join(dir, 'tools', 'idf.py'),
    '#!/bin/sh\nif [ "$1" = --list-targets ]; then printf "esp32\\nesp32s3\\nesp32c3\\n"; fi\n',
  );
  await chmod(path.join(dir, 'install.sh'), 0o755);
  await chmod(path.join(dir, 'tools', 'idf.py'), 0o755);
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', '-C', dir, ...args], {
      encoding: 'utf8',
    });
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'v5.2.2');
  git('tag', 'v5.2.2');
  await writeFile(path.join(dir, 'version.txt'), '5.3.1\n');
  git('add', '.');
  git('commit', '-q', '-m', 'v5.3.1');
  git('tag', 'v5.3.1');
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'aegis-provision-'));
  fixtureRepo = path.join(root, 'esp-idf');
  await makeFixtureRepo(fixtureRepo);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function provision(store: string, ...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(path.join(REPO, 'scripts/provision-store.sh'), ['--store', store, ...args], {
    env: { ...process.env, ESPCTL_IDF_REPO: `file://${fixtureRepo}` },
    encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('provision-store.sh against a local ESP-IDF stand-in', () => {
  it('clones at the tag, installs the tools in the store and writes a manifest the machine verifies', async () => {
    const store = path.join(root, 'store');
    const first = provision(store, '--default', '5.3.1', '5.3.1', '5.2.2');
    expect(first.out).toContain('store ready');
    expect(first.status).toBe(0);
    const loaded = await loadStore(store);
    expect(inventory(loaded)).toMatchObject({
      idfVersions: ['5.3.1', '5.2.2'],
      targets: ['esp32', 'esp32s3', 'esp32c3'],
    });
    expect(inventory(loaded).builds).toContainEqual({ idf_version: '5.2.2', target: 'esp32s3' });
    const v531 = loaded.manifest.versions.find((v) => v.version === '5.3.1')!;
    expect(v531.default).toBe(true);
    expect(v531.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(v531.tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(['tools/idf.py', 'export.sh', 'riscv32-esp-elf-gcc', 'riscv32-esp-elf-addr2line']),
    );
    expect(await readFile(path.join(store, 'idf/5.3.1/version.txt'), 'utf8')).toBe('5.3.1\n');

    // running it again keeps the clone and rewrites the manifest
    const again = provision(store, '5.2.2');
    expect(again.status).toBe(0);
    expect(again.out).toContain('already cloned');
    expect((await loadStore(store)).manifest.versions.map((v) => v.version).sort()).toEqual(['5.2.2', '5.3.1']);
  });

  it('refuses a version that is not a release number, and a tag that does not exist', () => {
    const store = path.join(root, 'store-bad');
    expect(provision(store, '5.3;rm -rf /').status).toBe(2);
    const missing = provision(store, '9.9.9');
    expect(missing.status).not.toBe(0);
  });
});

describe('store manifest writer', () => {
  it('refuses unknown targets and paths outside the store, leaving the manifest unchanged', async () => {
    const store = path.join(root, 'store-writer');
    await mkdir(path.join(store, 'idf/5.1/tools'), { recursive: true });
    await writeFile(path.join(store, 'idf/5.1/tools/idf.py'), '#!/bin/sh\n');
    await writeFile(path.join(store, 'idf/5.1/export.sh'), '\n');
    await addVersion({ store, version: '5.1', targets: ['esp32'] });
    const before = await readFile(path.join(store, 'manifest.json'), 'utf8');
    await expect(addVersion({ store, version: '5.1', targets: ['esp99'] })).rejects.toThrow(/unknown target/);
    await expect(addVersion({ store, version: '5.1', targets: ['esp32'], toolDirs: ['/usr/bin'] })).rejects.toThrow(
      /not inside the store/,
    );
    await expect(addVersion({ store, version: '5.2', targets: ['esp32'] })).rejects.toThrow(/idf\.py is missing/);
    expect(await readFile(path.join(store, 'manifest.json'), 'utf8')).toBe(before);
    expect((await loadStore(store)).manifest.versions[0]).toMatchObject({ version: '5.1', default: true });
  });
});
