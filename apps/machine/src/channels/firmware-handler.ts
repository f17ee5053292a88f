import { isAbsolute, relative, resolve } from 'node:path';
import { FirmwareClientMessage } from '@aegis/protocol';
import { fileSourceFromPath, sendFile, type LimitedSender, type MessageChannelLike } from '@aegis/peer';
import type { Logger } from 'pino';
import type { BuildJob } from '../jobs/build-job.js';

/** Serves `get` requests on the `firmware` channel: any artifact of the job's successful build, resumable. */
export function serveFirmware(o: { job: BuildJob; channel: MessageChannelLike; sender: LimitedSender; log: Logger }) {
  const { job, channel, sender } = o;
  // Requests are served one after another, in order (one transfer at a time on the channel).
  let queue: Promise<void> = Promise.resolve();
  const abort = new AbortController();
  const fail = (code: string, message: string, name?: string) =>
    sender.sendJson({ type: 'error', ...(name ? { name } : {}), error: { code, message } }).catch(() => undefined);

  const off = channel.onMessage((data) => {
    if (typeof data !== 'string') return void fail('bad_frame', 'The firmware channel takes JSON requests only.');
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return void fail('bad_frame', 'The request is not valid JSON.');
    }
    const r = FirmwareClientMessage.safeParse(value);
    if (!r.success) return void fail('bad_request', 'Unknown request; send {"type":"get","name":…,"offset":…}.');
    const { name, offset } = r.data;
    const dir = job.outcome?.artifactsDir;
    if (job.state !== 'succeeded' || !dir)
      return void fail('not_ready', 'There is no successful build to download from yet.', name);
    const artifact = job.artifacts.find((a) => a.name === name);
    const path = resolve(dir, name);
    const rel = relative(dir, path);
    if (!artifact || rel.startsWith('..') || isAbsolute(rel))
      return void fail('not_found', `No artifact named "${name}"; see artifacts.list.`, name);
    if (offset > artifact.size)
      return void fail('bad_offset', `Offset ${offset} is past the end of ${name} (${artifact.size} bytes).`, name);
    queue = queue.then(async () => {
      if (abort.signal.aborted) return;
      const src = await fileSourceFromPath(name, path, artifact.sha256);
      try {
        await sendFile(sender, src, offset, { signal: abort.signal });
      } catch (err) {
        if (channel.readyState === 'open') {
          o.log.warn({ err: (err as Error).message, name }, 'firmware send failed');
          void fail('send_failed', `Sending ${name} failed; request it again.`, name);
        }
      } finally {
        await src.close?.();
      }
    });
  });
  channel.onClose(() => {
    abort.abort();
    off();
  });
}
