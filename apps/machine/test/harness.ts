import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createMachineToken, createUser, startApi, type StartApiOptions, type StartedApi } from '@aegis/testkit/api';
import type { JobView } from '@aegis/protocol';
import type { Agent } from '../src/agent.js';
import type { BuildBackend } from '../src/build/backend.js';
import { MachineConfig } from '../src/config.js';
import { runMachine } from '../src/run.js';
import { startMachine, type StartedMachine } from '@aegis/testkit/machine';
import { realIdfStore } from '@aegis/testkit';
import { createFixtureBackend } from './fixtures/fixture-backend.mjs';

export async function startTestApi(opts: StartApiOptions = {}): Promise<StartedApi & { userKey: string }> {
  const api = await startApi({ ...opts, env: { ...opts.env } });
  return Object.assign(api, { userKey: await createUser(api.url, api.adminKey) });
}

/** The real API and the built agent with the real backend: real ESP-IDF 5.1.6 from the kit, in a bwrap sandbox. */
export async function startSandboxedStack(machineName: string): Promise<{
  api: Awaited<ReturnType<typeof startTestApi>>;
  machine: StartedMachine;
  stop(): Promise<void>;
}> {
  const storeRoot = realIdfStore();
  const api = await startTestApi();
  const { token } = await createMachineToken(api.url, api.adminKey, machineName);
  const machine = await startMachine({ apiUrl: api.url, token, jwksPath: api.jwksPath, storeRoot, sandbox: 'bwrap' });
  return {
    api,
    machine,
    async stop() {
      await machine.stop();
      await api.stop();
    },
  };
}

export interface InProcessMachine {
  agent: Agent;
  workDir: string;
  machineId: string;
  stop(): Promise<void>;
}

/** The agent in this process (real HTTP to the API, real WebRTC) with a given backend. */
export async function startInProcessMachine(
  api: StartedApi,
  o: { backend?: BuildBackend; trustedJwks?: string; retentionMins?: number; name?: string } = {},
): Promise<InProcessMachine> {
  const { token, machineId } = await createMachineToken(api.url, api.adminKey, o.name ?? `m-${Date.now()}`);
  const workDir = mkdtempSync(join(tmpdir(), 'aegis-m-'));
  const config = MachineConfig.parse({
    apiUrl: api.url,
    token,
    trustedJwks: o.trustedJwks ?? api.jwksPath,
    sandbox: 'none',
    workDir,
    rtcInterface: '127.0.0.1',
    slots: 2,
    cores: 4,
    memoryMb: 8192,
    retentionMins: o.retentionMins ?? 15,
  });
  const log = pino({ level: process.env.AEGIS_TEST_LOG ?? 'silent' });
  const agent = await runMachine(config, o.backend ?? createFixtureBackend(), log);
  return {
    agent,
    workDir,
    machineId,
    stop: async () => {
      await agent.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

export async function getJob(api: { url: string }, key: string, id: string): Promise<JobView> {
  const res = await fetch(`${api.url}/jobs/${id}`, { headers: { authorization: `Bearer ${key}` } });
  if (!res.ok) throw new Error(`GET /jobs/${id} → ${res.status}`);
  return (await res.json()) as JobView;
}

/** Polls until `pred` holds (or throws after `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T>, pred: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && pred(v)) return v;
    if (Date.now() > until)
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
