import { PtyClientMessage } from '@aegis/protocol';
import { type LimitedSender, type MessageChannelLike } from '@aegis/peer';
import * as pty from 'node-pty';
import type { Logger } from 'pino';
import type { BuildBackend } from '../build/backend.js';
import type { BuildJob } from '../jobs/build-job.js';

const PTY_CHUNK = 16 * 1024;
/** Terminal output queued for the channel beyond which the terminal is paused, and where it resumes. */
export const PTY_PAUSE_BYTES = 1024 * 1024;
const PTY_RESUME_BYTES = 256 * 1024;
/** Keystrokes typed while the sandbox is still starting wait here; past this they are refused. */
const MAX_PENDING_INPUT = 64 * 1024;

/** One terminal process on the channel, from `open` to its exit. */
interface TerminalRun {
  term?: pty.IPty;
  exited: boolean;
  pendingInput: string[];
  pendingBytes: number;
  pendingSize?: { cols: number; rows: number };
}

/**
 * A terminal inside the job's sandbox on the `pty` channel: `open` first, then bytes both ways; `exit` at the end.
 * One terminal runs per channel at a time; after its `exit` frame a new `open` starts a fresh one in the same
 * workspace. Each run gives its process and its sandbox lease back when it exits.
 */
export function servePty(o: {
  job: BuildJob;
  backend: BuildBackend;
  channel: MessageChannelLike;
  sender: LimitedSender;
  log: Logger;
}) {
  const { channel, sender } = o;
  let current: TerminalRun | undefined;
  let closed = false;
  const sendErr = (message: string) => void sender.sendJson({ type: 'error', message }).catch(() => undefined);

  const start = (msg: { cols: number; rows: number; command: 'shell' | 'menuconfig' }) => {
    const run: TerminalRun = { exited: false, pendingInput: [], pendingBytes: 0 };
    current = run;
    let dispose: (() => void) | undefined;
    void (async () => {
      const cmd = await o.backend.terminal(o.job.workspaceDir, msg.command, o.job.userId);
      dispose = cmd.dispose;
      if (closed || channel.readyState !== 'open') {
        current = undefined;
        dispose?.();
        return;
      }
      const size = run.pendingSize ?? { cols: msg.cols, rows: msg.rows };
      const term = pty.spawn(cmd.file, cmd.args, {
        name: 'xterm-256color',
        cols: size.cols,
        rows: size.rows,
        cwd: cmd.cwd,
        env: cmd.env,
      });
      run.term = term;
      // Output waits in the sender's queue at the channel's pace; past a bound the terminal is paused (its
      // process blocks on write), so `yes` in a terminal cannot grow the machine's memory or stall its loop.
      let inFlight = 0;
      let paused = false;
      term.onData((d) => {
        const buf = Buffer.from(d, 'utf8');
        for (let i = 0; i < buf.length; i += PTY_CHUNK) {
          const chunk = buf.subarray(i, i + PTY_CHUNK);
          inFlight += chunk.length;
          void sender
            .send(chunk)
            .catch(() => undefined)
            .finally(() => {
              inFlight -= chunk.length;
              if (paused && inFlight <= PTY_RESUME_BYTES && !run.exited) {
                paused = false;
                term.resume();
              }
            });
        }
        if (!paused && inFlight > PTY_PAUSE_BYTES) {
          paused = true;
          term.pause();
        }
      });
      term.onExit(({ exitCode, signal }) => {
        run.exited = true;
        dispose?.();
        // node-pty may deliver the last output just after the exit event; let it through first. The channel is
        // free again before the exit frame leaves, so an `open` sent in answer to it is accepted.
        setTimeout(() => {
          if (current === run) current = undefined;
          void sender
            .sendJson({ type: 'exit', code: exitCode, signal: signal ? String(signal) : null })
            .catch(() => undefined);
        }, 50);
      });
      for (const text of run.pendingInput) term.write(text);
      run.pendingInput = [];
    })().catch((err: Error) => {
      if (current === run) current = undefined;
      if (!run.term) dispose?.();
      o.log.warn({ err: err.message }, 'terminal failed to start');
      sendErr(`The terminal could not start: ${err.message}`);
    });
  };

  channel.onMessage((data) => {
    if (typeof data !== 'string') {
      const run = current;
      if (!run || run.exited) return sendErr('Open the terminal first with {"type":"open","cols":…,"rows":…}.');
      const text = data.toString('utf8');
      if (run.term) return run.term.write(text);
      if (run.pendingBytes + data.length > MAX_PENDING_INPUT)
        return sendErr('The terminal is still starting; type again once its prompt appears.');
      run.pendingInput.push(text);
      run.pendingBytes += data.length;
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
      const run = current;
      if (run?.term && !run.exited) run.term.resize(msg.cols, msg.rows);
      else if (run && !run.exited) run.pendingSize = { cols: msg.cols, rows: msg.rows };
      return;
    }
    if (current) return sendErr('A terminal is already running on this channel; exit it before opening another.');
    start(msg);
  });
  channel.onClose(() => {
    closed = true;
    if (current?.term && !current.exited) current.term.kill();
  });
}
