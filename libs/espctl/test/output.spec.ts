import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Output } from '../src/cli/output.js';
import { exitCodeFor } from '../src/cli/exit-codes.js';
import { EspctlError } from '../src/errors.js';

function sink(tty: boolean): Writable & { text: string; isTTY?: boolean } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string; isTTY?: boolean };
  w.text = '';
  w.isTTY = tty;
  return w;
}

describe('CLI output', () => {
  it('draws progress bars on a terminal only, keeps them below log lines, and never with --json or --quiet', () => {
    const out = sink(true);
    const err = sink(true);
    const o = new Output({ json: false, quiet: false }, out, err);
    o.progress('upload', 5, 10);
    o.line('[1/4] Building C object');
    o.progress('upload', 10, 10);
    expect(out.text).toBe('[1/4] Building C object\n');
    expect(err.text).toContain('upload [###############---------------] 50%');
    expect(err.text).toContain('\r\x1b[K');
    expect(err.text.endsWith('100%\n')).toBe(true);

    for (const opts of [
      { json: true, quiet: false, tty: true },
      { json: false, quiet: true, tty: true },
      { json: false, quiet: false, tty: false },
    ]) {
      const e = sink(opts.tty);
      new Output(opts, sink(true), e).progress('download', 1, 2);
      expect(e.text, JSON.stringify(opts)).toBe('');
    }
  });

  it('prints errors as JSON on stderr with --json and maps codes to exit codes', () => {
    const err = sink(false);
    const code = new Output({ json: true, quiet: false }, sink(false), err).error(
      new EspctlError('config_invalid', 'Bad key.'),
    );
    expect(JSON.parse(err.text)).toEqual({ error: { code: 'config_invalid', message: 'Bad key.' } });
    expect(code).toBe(3);
    expect(exitCodeFor('not_logged_in')).toBe(4);
    expect(exitCodeFor('control_unreachable')).toBe(5);
    expect(exitCodeFor('build_failed')).toBe(6);
    expect(exitCodeFor('job_not_found')).toBe(7);
    expect(exitCodeFor('plan_only')).toBe(8);
    expect(exitCodeFor('serial_port_busy')).toBe(9);
    expect(exitCodeFor('whatever')).toBe(1);
  });
});
