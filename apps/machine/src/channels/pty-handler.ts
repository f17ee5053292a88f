import { PtyClientMessage } from '@aegis/protocol';
import { type LimitedSender, type MessageChannelLike } from '@aegis/peer';
import * as pty from 'node-pty';
import type { Logger } from 'pino';
import type { BuildBackend } from '../build/backend.js';
import type { BuildJob } from '../jobs/build-job.js';

const PTY_CHUNK = 16 * 1024;

/** A terminal inside the job's sandbox on the `pty` channel: `open` first, then bytes both ways; `exit` at the end. */
export function servePty(o: {
  job: BuildJob;
  backend: BuildBackend;
  channel: MessageChannelLike;
  sender: LimitedSender;
  log: Logger;
}) {
  const { channel, sender } = o;
  let term: pty.IPty | undefined;
  let exited = false;
  let opening = false;
  const sendErr = (message: string) => void sender.sendJson({ type: 'error', message }).catch(() => undefined);

  channel.onMessage((data) => {
    if (typeof data !== 'string') {
      if (term && !exited) term.write(data.toString('utf8'));
      else sendErr('Open the terminal first with {"type":"open","cols":…,"rows":…}.');
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return sendErr('Control frames must be JSON.');
    }
    const r = PtyClientMessage.safeParse(value);
    if (!r.success) return sendErr('Unknown control frame; use "open" or "resize".');
    const msg = r.data;
    if (msg.type === 'resize') {
      if (term && !exited) term.resize(msg.cols, msg.rows);
      return;
    }
    if (term || opening) return sendErr('The terminal is already open.');
    opening = true;
    void (async () => {
      const cmd = await o.backend.terminal(o.job.workspaceDir, msg.command);
      if (channel.readyState !== 'open') return;
      term = pty.spawn(cmd.file, cmd.args, {
        name: 'xterm-256color',
        cols: msg.cols,
        rows: msg.rows,
        cwd: cmd.cwd,
        env: cmd.env,
      });
      term.onData((d) => {
        const buf = Buffer.from(d, 'utf8');
        for (let i = 0; i < buf.length; i += PTY_CHUNK)
          void sender.send(buf.subarray(i, i + PTY_CHUNK)).catch(() => undefined);
      });
      term.onExit(({ exitCode, signal }) => {
        exited = true;
        // node-pty may deliver the last output just after the exit event; let it through first.
        setTimeout(() => {
          void sender
            .sendJson({ type: 'exit', code: exitCode, signal: signal ? String(signal) : null })
            .catch(() => undefined);
        }, 50);
      });
    })().catch((err: Error) => {
      o.log.warn({ err: err.message }, 'terminal failed to start');
      sendErr(`The terminal could not start: ${err.message}`);
    });
  });
  channel.onClose(() => {
    if (term && !exited) term.kill();
  });
}
