import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { LimitedSender } from '@aegis/peer';
import { RpcErrorCode } from '@aegis/protocol';
import type { Logger } from 'pino';
import { channelPair } from '../../../libs/peer/test/fake-channel.js';
import { serveEspctl } from '../src/channels/espctl-handler.js';
import type { BuildBackend, BuildOutcome } from '../src/build/backend.js';
import { BuildJob } from '../src/jobs/build-job.js';

const log = { warn: () => undefined, info: () => undefined, error: () => undefined } as unknown as Logger;

/** A backend whose builds succeed at once (the slot rule is decided before any build runs). */
const backend = {
  build: async () => ({ exitCode: 0, artifacts: [], artifactsDir: '/nonexistent' }) as unknown as BuildOutcome,
} as unknown as BuildBackend;

/** One JSON-RPC request on the espctl channel; resolves with its response. */
function rpc(client: ReturnType<typeof channelPair>[0], method: string, params: unknown) {
  const id = randomUUID();
  type Reply = { id?: string; result?: unknown; error?: { code: number; message: string } };
  return new Promise<Reply>((resolve) => {
    const off = client.onMessage((d) => {
      if (typeof d !== 'string') return;
      const m = JSON.parse(d) as Reply;
      if (m.id !== id) return;
      off();
      resolve(m);
    });
    client.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  });
}

function session(slotFree: () => boolean) {
  const [client, server] = channelPair('espctl');
  const job = new BuildJob({
    id: randomUUID(),
    userId: randomUUID(),
    workspaceDir: '/nonexistent/ws',
    params: { target: 'esp32c3', cpu_cores: 1, memory_mb: 512, timeout_secs: 60 },
  });
  job.projectUploaded = true;
  const started: number[] = [];
  serveEspctl({
    job,
    backend,
    channel: server,
    sender: new LimitedSender(server),
    log,
    maxUploadBytes: 1024,
    readOnly: false,
    onBuildStarted: () => started.push(1),
    slotFree,
  });
  return { client, job, started };
}

describe('a rebuild in an open session takes a build slot like any other build', () => {
  it('the first build runs on the slot it was claimed with, even when the machine reports none free', async () => {
    const s = session(() => false);
    const r = await rpc(s.client, 'build.start', {});
    expect(r.error).toBeUndefined();
    expect(s.started).toHaveLength(1);
    await s.job.settled();
    s.client.close();
  });

  it('a second build in the same session is refused while every slot is busy, and runs once one is free', async () => {
    let free = false;
    const s = session(() => free);
    expect((await rpc(s.client, 'build.start', {})).error).toBeUndefined();
    await s.job.settled();
    const refused = await rpc(s.client, 'build.start', {});
    expect(refused.error?.code).toBe(RpcErrorCode.BuildBusy);
    expect(refused.error?.message).toMatch(/build slot/);
    expect(s.started).toHaveLength(1);
    free = true;
    expect((await rpc(s.client, 'build.start', {})).error).toBeUndefined();
    expect(s.started).toHaveLength(2);
    await s.job.settled();
    s.client.close();
  });
});
