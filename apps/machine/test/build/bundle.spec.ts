import { generateKeyPairSync } from 'node:crypto';
import { cp, mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeArtifacts } from '../../src/build/bundle.js';
import { harness, helloProject, request, workspace, type Harness } from './helpers.js';

let h: Harness;
let victimBuild: string;
beforeAll(async () => {
  h = await harness();
  const victim = request(await workspace(h, helloProject()), { target: 'esp32c3', userId: 'victim' });
  expect((await h.backend.build(victim.req)).state).toBe('succeeded');
  victimBuild = path.join(victim.req.workspaceDir, 'project', 'build');
});
afterAll(async () => {
  await h?.cleanup();
});

const { privateKey } = generateKeyPairSync('ed25519');
const input = (projectDir: string, artifactsDir: string) => ({
  projectDir,
  artifactsDir,
  target: 'esp32c3' as const,
  idfVersion: 'test-1.0',
  jobId: 'j',
  signingKey: { kid: 'k', privateKey },
  now: new Date(),
});

describe('flash bundle from a build directory', () => {
  it('bundles a plain build directory', async () => {
    const project = path.join(h.root, 'bundle-ok', 'project');
    await mkdir(project, { recursive: true });
    await cp(victimBuild, path.join(project, 'build'), { recursive: true });
    const made = await makeArtifacts(input(project, path.join(h.root, 'bundle-ok', 'artifacts')));
    expect(made.projectName).toBe('hello_world');
    expect(made.sizes.app).toBeGreaterThan(0);
  });

  it("refuses a build/ that is a link (it could point at another job's firmware)", async () => {
    const project = path.join(h.root, 'bundle-link', 'project');
    await mkdir(project, { recursive: true });
    await symlink(victimBuild, path.join(project, 'build'));
    await expect(makeArtifacts(input(project, path.join(h.root, 'bundle-link', 'artifacts')))).rejects.toMatchObject({
      code: 'bundle_failed',
    });
  });

  it('skips files that are links leaving the build directory', async () => {
    const project = path.join(h.root, 'bundle-filelink', 'project');
    await mkdir(path.join(project, 'build'), { recursive: true });
    await cp(path.join(victimBuild, 'flasher_args.json'), path.join(project, 'build', 'flasher_args.json'));
    await cp(
      path.join(victimBuild, 'project_description.json'),
      path.join(project, 'build', 'project_description.json'),
    );
    for (const f of ['hello_world.bin', 'bootloader', 'partition_table']) {
      await symlink(path.join(victimBuild, f), path.join(project, 'build', f));
    }
    await expect(
      makeArtifacts(input(project, path.join(h.root, 'bundle-filelink', 'artifacts'))),
    ).rejects.toMatchObject({
      code: 'bundle_failed',
      message: expect.stringContaining('missing'),
    });
  });
});
