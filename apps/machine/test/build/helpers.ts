import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeTestStore } from '../../../../scripts/make-test-store.mjs';
import { createBuildBackend, type BuildBackendWithStore } from '../../src/build/index.js';
import type { BuildRequest } from '../../src/build/backend.js';
import type { LogLine } from '@aegis/protocol';

export const HELLO_CMAKE = `cmake_minimum_required(VERSION 3.16)
include($ENV{IDF_PATH}/tools/cmake/project.cmake)
project(hello_world)
`;

export const HELLO_MAIN = `#include <stdio.h>

void app_main(void)
{
    printf("Hello world!\\n");
}
`;

export interface Harness {
  root: string;
  storeRoot: string;
  cacheDir: string;
  publicKey: KeyObject;
  kid: string;
  backend: BuildBackendWithStore;
  cleanup(): Promise<void>;
}

/** A test store, a cache and a bwrap backend in a fresh temporary directory. */
export async function harness(opts: { sandbox?: 'bwrap' | 'none'; cacheMaxBytes?: number } = {}): Promise<Harness> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'aegis-build-'));
  await chmod(root, 0o755);
  const storeRoot = path.join(root, 'store');
  await makeTestStore(storeRoot);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const kid = 'machine-test-key';
  const cacheDir = path.join(root, 'cache');
  const backend = await createBuildBackend({
    storeRoot,
    sandbox: opts.sandbox ?? 'bwrap',
    cacheDir,
    cacheMaxBytes: opts.cacheMaxBytes,
    signingKey: { kid, privateKey },
    machineId: 'test-machine',
  });
  return {
    root,
    storeRoot,
    cacheDir,
    publicKey,
    kid,
    backend,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

let wsCounter = 0;

/** A job workspace with `project/` holding `files` (path → content). */
export async function workspace(h: Harness, files: Record<string, string>): Promise<string> {
  const ws = path.join(h.root, `ws-${++wsCounter}`);
  for (const [rel, content] of Object.entries(files)) {
    const f = path.join(ws, 'project', rel);
    await mkdir(path.dirname(f), { recursive: true });
    await writeFile(f, content);
  }
  return ws;
}

export function helloProject(extra: Record<string, string> = {}): Record<string, string> {
  return { 'CMakeLists.txt': HELLO_CMAKE, 'main/hello_world_main.c': HELLO_MAIN, ...extra };
}

export interface Collected {
  lines: Array<{ stream: LogLine['stream']; text: string }>;
  text(): string;
}

export function request(
  ws: string,
  over: Partial<BuildRequest> = {},
): { req: BuildRequest; log: Collected; abort: AbortController } {
  const abort = new AbortController();
  const lines: Collected['lines'] = [];
  const req: BuildRequest = {
    jobId: `job-${path.basename(ws)}`,
    userId: 'user-1',
    workspaceDir: ws,
    timeoutSecs: 120,
    cpuCores: 1,
    memoryMb: 1024,
    signal: abort.signal,
    onLine: (stream, text) => void lines.push({ stream, text }),
    ...over,
  };
  return { req, abort, log: { lines, text: () => lines.map((l) => l.text).join('\n') } };
}

/**
 * Processes still running (zombies are dead already) under the dedicated sandbox uids (61000–61063) whose command
 * line contains `marker` (other test files build in parallel, so a test only counts its own processes).
 */
export function sandboxProcesses(marker: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      if (uid < 61000 || uid >= 61064 || /^State:\s+Z/m.test(status)) continue;
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) n++;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}
