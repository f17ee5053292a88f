import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it } from 'vitest';
import { KEEP_SOURCES, MAX_PROJECT_BYTES, ProjectStore } from '../src/lib/projects/project-store';
import { templateProjectFiles } from '../src/lib/projects/project-sources';
import { changedFiles } from '../src/lib/projects/source-diff';
import type { ProjectBuild, ProjectFile } from '../src/lib/projects/types';

const enc = new TextEncoder();
const dec = new TextDecoder();
const file = (path: string, text: string): ProjectFile => ({ path, data: enc.encode(text) });
const CMAKE = file('CMakeLists.txt', 'cmake_minimum_required(VERSION 3.16)\nproject(demo)\n');

let factory: IDBFactory;
let clock: number;
let ids: number;
const newStore = () =>
  new ProjectStore(
    () => factory,
    () => clock,
    () => `p${++ids}`,
  );
let store: ProjectStore;

beforeEach(() => {
  factory = new IDBFactory();
  clock = 1_000;
  ids = 0;
  store = newStore();
});

async function expectCode(p: Promise<unknown>, code: string, message: RegExp) {
  const e = (await p.then(
    () => null,
    (err: unknown) => err,
  )) as { code?: string; message?: string } | null;
  expect(e, 'expected a refusal').not.toBeNull();
  expect(e!.code).toBe(code);
  expect(e!.message).toMatch(message);
}

const build = (jobId: string, projectId: string, startedAt: number): ProjectBuild => ({
  jobId,
  projectId,
  projectName: 'hello',
  startedAt,
  options: { target: 'esp32c3' },
});

describe('the browser project store (IndexedDB)', () => {
  it('creates a project from the hello_world template and reads it back, files sorted by path', async () => {
    const files = templateProjectFiles('hello_world', 'hello', 'esp32c3');
    const p = await store.create({
      name: ' hello ',
      origin: { kind: 'template', template: 'hello_world' },
      options: { target: 'esp32c3' },
      files,
    });
    expect(p).toMatchObject({ id: 'p1', name: 'hello', createdAt: 1_000, updatedAt: 1_000 });
    expect(await store.get('p1')).toEqual(p);
    expect((await store.list()).map((x) => x.id)).toEqual(['p1']);
    const back = await store.files('p1');
    expect(back.map((f) => f.path)).toEqual([...files.map((f) => f.path)].sort());
    expect(back.map((f) => f.path)).toContain('main/hello.c');
    const main = dec.decode(back.find((f) => f.path === 'main/hello.c')!.data);
    expect(main).toContain('printf("Hello world!\\n");');
    expect(dec.decode(back.find((f) => f.path === 'CMakeLists.txt')!.data)).toContain('project(hello)');
  });

  it('keeps projects across reopening the database (another page load of the same browser)', async () => {
    await store.create({ name: 'demo', origin: { kind: 'zip', fileName: 'demo.zip' }, files: [CMAKE] });
    const again = newStore();
    expect((await again.list()).map((p) => p.name)).toEqual(['demo']);
    expect(dec.decode((await again.files('p1'))[0].data)).toContain('project(demo)');
  });

  it('refuses what is not a project, with a message that says what to do', async () => {
    const origin = { kind: 'folder' as const };
    await expectCode(
      store.create({ name: 'x', origin, files: [file('main/a.c', '')] }),
      'not_a_project',
      /CMakeLists\.txt/,
    );
    await expectCode(
      store.create({ name: 'x', origin, files: [CMAKE, file('../escape.c', '')] }),
      'bad_path',
      /inside the project/,
    );
    await expectCode(store.create({ name: 'x', origin, files: [CMAKE, CMAKE] }), 'bad_path', /twice/);
    await expectCode(store.create({ name: '  ', origin, files: [CMAKE] }), 'bad_name', /name/);
    await expectCode(
      store.create({ name: 'x', origin, files: [CMAKE, { path: 'big.bin', data: new Uint8Array(MAX_PROJECT_BYTES) }] }),
      'too_large',
      /64 MiB/,
    );
    // Nothing half-made stays behind.
    expect(await store.list()).toEqual([]);
  });

  it('writes, adds and deletes files; the most recently changed project comes first', async () => {
    await store.create({ name: 'one', origin: { kind: 'folder' }, files: [CMAKE, file('main/a.c', 'int a;\n')] });
    clock = 2_000;
    await store.create({ name: 'two', origin: { kind: 'folder' }, files: [CMAKE] });
    expect((await store.list()).map((p) => p.name)).toEqual(['two', 'one']);

    clock = 3_000;
    await store.writeFile('p1', 'main/a.c', enc.encode('int a = 1;\n'));
    await store.writeFile('p1', './main/b.h', enc.encode('#pragma once\n'));
    expect((await store.list()).map((p) => p.name)).toEqual(['one', 'two']);
    expect((await store.get('p1'))!.updatedAt).toBe(3_000);
    const files = await store.files('p1');
    expect(files.map((f) => f.path)).toEqual(['CMakeLists.txt', 'main/a.c', 'main/b.h']);
    expect(dec.decode(files[1].data)).toBe('int a = 1;\n');

    await store.deleteFile('p1', 'main/b.h');
    expect((await store.files('p1')).map((f) => f.path)).toEqual(['CMakeLists.txt', 'main/a.c']);
    await expectCode(store.deleteFile('p1', 'CMakeLists.txt'), 'keep_cmakelists', /edit it instead/);
    await expectCode(store.writeFile('p1', '/etc/passwd', new Uint8Array()), 'bad_path', /relative/);
    await expectCode(store.writeFile('nope', 'a.c', new Uint8Array()), 'not_found', /not in this browser/);
    // The other project is untouched.
    expect((await store.files('p2')).map((f) => f.path)).toEqual(['CMakeLists.txt']);
  });

  it('renames a project and changes its build options', async () => {
    await store.create({ name: 'one', origin: { kind: 'folder' }, files: [CMAKE] });
    const p = await store.update('p1', { name: 'renamed', options: { target: 'esp32', profile: 'release' } });
    expect(p).toMatchObject({ name: 'renamed', options: { target: 'esp32', profile: 'release' } });
    expect(await store.get('p1')).toEqual(p);
    await expectCode(store.update('p1', { name: '' }), 'bad_name', /name/);
  });

  it('remembers the sources of a build: later edits show as changes against them', async () => {
    const files = templateProjectFiles('hello_world', 'hello', 'esp32c3');
    await store.create({ name: 'hello', origin: { kind: 'template', template: 'hello_world' }, files });
    expect(await store.lastBuildSources('p1')).toBeNull();
    await store.recordBuild(build('job-1', 'p1', 5_000), await store.files('p1'));

    const main = dec.decode((await store.files('p1')).find((f) => f.path === 'main/hello.c')!.data);
    await store.writeFile('p1', 'main/hello.c', enc.encode(main.replace('Hello world!', 'Hello aegis!')));
    await store.writeFile('p1', 'main/extra.h', enc.encode('#define X 1\n'));

    const last = await store.lastBuildSources('p1');
    expect(last?.jobId).toBe('job-1');
    expect(dec.decode(last!.files.find((f) => f.path === 'main/hello.c')!.data)).toContain('Hello world!');
    expect(changedFiles(last!.files, await store.files('p1'))).toEqual([
      { path: 'main/extra.h', status: 'added' },
      { path: 'main/hello.c', status: 'modified' },
    ]);

    expect(await store.buildOfJob('job-1')).toEqual(build('job-1', 'p1', 5_000));
    expect([...(await store.buildsByJob()).keys()]).toEqual(['job-1']);
    expect(await store.buildOfJob('job-unknown')).toBeUndefined();
  });

  it(`keeps the sources of the last ${KEEP_SOURCES} builds only, and every build record`, async () => {
    await store.create({ name: 'hello', origin: { kind: 'folder' }, files: [CMAKE] });
    for (let i = 1; i <= KEEP_SOURCES + 2; i++) {
      await store.writeFile('p1', 'main/n.c', enc.encode(`int n = ${i};\n`));
      await store.recordBuild(build(`job-${i}`, 'p1', 10_000 + i), await store.files('p1'));
    }
    const builds = await store.builds('p1');
    expect(builds.map((b) => b.jobId)).toEqual(['job-7', 'job-6', 'job-5', 'job-4', 'job-3', 'job-2', 'job-1']);
    const last = await store.lastBuildSources('p1');
    expect(last?.jobId).toBe('job-7');
    expect(dec.decode(last!.files.find((f) => f.path === 'main/n.c')!.data)).toBe('int n = 7;\n');
    // The pruned ones are gone from the sources store (read through a fresh store on the same database).
    const tx = await new Promise<IDBDatabase>((resolve) => {
      const r = factory.open('aegis-projects');
      r.onsuccess = () => resolve(r.result);
    });
    const keys = await new Promise<IDBValidKey[]>((resolve) => {
      const r = tx.transaction('sources').objectStore('sources').getAllKeys();
      r.onsuccess = () => resolve(r.result);
    });
    expect(keys.sort()).toEqual(['job-3', 'job-4', 'job-5', 'job-6', 'job-7']);
    tx.close();
  });

  it('deletes a project with its files and sources; its builds still name it in the history', async () => {
    await store.create({ name: 'gone', origin: { kind: 'folder' }, files: [CMAKE, file('main/a.c', '')] });
    await store.create({ name: 'kept', origin: { kind: 'folder' }, files: [CMAKE] });
    await store.recordBuild(build('job-1', 'p1', 5_000), await store.files('p1'));
    await store.remove('p1');
    expect(await store.get('p1')).toBeUndefined();
    expect(await store.files('p1')).toEqual([]);
    expect(await store.lastBuildSources('p1')).toBeNull();
    expect((await store.buildOfJob('job-1'))?.projectName).toBe('hello');
    expect((await store.list()).map((p) => p.name)).toEqual(['kept']);
    expect((await store.files('p2')).length).toBe(1);
  });

  it('says so when the browser has no IndexedDB', async () => {
    const none = new ProjectStore(() => undefined as unknown as IDBFactory);
    await expectCode(none.list(), 'no_storage', /IndexedDB/);
  });
});
