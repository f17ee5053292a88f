import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SerialWatcher, panicAddresses, type SerialVerdict, type SerialWatchOptions } from '../src/index.js';

/**
 * Real UART output of real ESP-IDF v5.1.6 apps booted in the kit's QEMU (see fixtures/serial/README.md for how each
 * was captured): hello_world, a null-pointer write, an app that restarts at once; for esp32c3 and esp32.
 */
const FIX = path.join(import.meta.dirname, 'fixtures', 'serial');
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(path.join(FIX, name)));

/** Feed `bytes` in chunks of `size` (1 = byte by byte: every line and UTF-8 character is split). */
function watch(bytes: Uint8Array, opts: SerialWatchOptions, size = bytes.length): SerialVerdict | undefined {
  const w = new SerialWatcher(opts);
  for (let at = 0; at < bytes.length; at += size) {
    const v = w.push(bytes.subarray(at, at + size));
    if (v) return v;
  }
  return w.end();
}

const CHIPS = ['esp32c3', 'esp32'] as const;

describe.each(CHIPS)('serial watcher on real %s output', (chip) => {
  let hello: Uint8Array, crash: Uint8Array, restart: Uint8Array;
  beforeAll(() => {
    hello = fixture(`hello_world-${chip}.log`);
    crash = fixture(`null_pointer-${chip}.log`);
    restart = fixture(`restart-${chip}.log`);
  });

  it.each([[0], [4096], [7], [1]])('sees "Hello world!" fed in chunks of %i bytes (0: all at once)', (size) => {
    const v = watch(hello, { until: 'Hello world!' }, size || hello.length);
    expect(v).toEqual({ reason: 'pattern', pattern: 'Hello world!', reboots: 0 });
  });

  it('stops at the first of several patterns and matches text without its ANSI colours', () => {
    // "main_task: Calling app_main()" is a green ESP_LOGI line: ESC[0;32mI (…) main_task: …ESC[0m.
    const v = watch(hello, { until: ['never printed', 'main_task: Calling app_main()'] }, 5);
    expect(v?.reason).toBe('pattern');
    expect(v?.pattern).toBe('main_task: Calling app_main()');
  });

  it('reports no verdict for hello_world without a pattern (it restarts on purpose, fewer times than the limit)', () => {
    const w = new SerialWatcher({});
    expect(w.push(hello)).toBeUndefined();
    expect(w.end()).toBeUndefined();
    // The capture holds the first boot and at least one restart ("Restarting now." then the ROM banner).
    expect(w.reboots).toBeGreaterThanOrEqual(1);
  });

  it('counts hello_world restarts as a reboot loop once the limit is reached without the pattern', () => {
    const w = new SerialWatcher({ until: 'not in the output', maxReboots: 1 });
    expect(w.push(hello)).toEqual({ reason: 'reboot_loop', reboots: 1 });
  });

  it.each([[0], [3], [1]])('finds the null-pointer panic and its addresses (chunks of %i, 0: all at once)', (size) => {
    const v = watch(crash, { until: 'Hello world!' }, size || crash.length);
    expect(v?.reason).toBe('panic');
    const p = v!.panic!;
    expect(p.complete).toBe(true);
    expect(p.kind).toBe(chip === 'esp32' ? 'StoreProhibited' : 'Store access fault');
    expect(p.headline).toMatch(/^Guru Meditation Error: Core {2}0 panic'ed/);
    expect(p.arch).toBe(chip === 'esp32' ? 'xtensa' : 'riscv');
    expect(p.pc).toMatch(/^0x4[02][0-9a-f]{6}$/);
    expect(p.addresses[0]).toBe(p.pc);
    expect(p.addresses.length).toBeGreaterThanOrEqual(2);
    for (const a of p.addresses) expect(a).toMatch(/^0x[0-9a-f]{8}$/);
    expect(p.lines.at(-1)).toMatch(/^Rebooting\.\.\./);
    // It stopped at the first panic, before the board rebooted into the next one.
    expect(v!.reboots).toBe(0);
  });

  it('reads the addresses the report really printed', () => {
    const text = new TextDecoder().decode(crash);
    const p = watch(crash, {})!.panic!;
    if (chip === 'esp32') {
      // Xtensa: the PC of every PC:SP pair of the Backtrace line, in order.
      const bt = /Backtrace: ?(.*)/.exec(text)![1];
      const pcs = [...bt.matchAll(/(0x[0-9a-f]{8}):0x[0-9a-f]{8}/g)].map((m) => m[1]);
      expect(p.addresses).toEqual([...new Set([p.pc, ...pcs])]);
      expect(p.pc).toBe(/PC\s+: (0x[0-9a-f]{8})/.exec(text)![1]);
    } else {
      // RISC-V: MEPC, then RA, then stack words pointing into flash code.
      expect(p.pc).toBe(/MEPC\s+: (0x[0-9a-f]{8})/.exec(text)![1]);
      expect(p.addresses[1]).toBe(/RA\s+: (0x[0-9a-f]{8})/.exec(text)![1]);
      expect(text).toContain('Stack memory:');
      for (const a of p.addresses.slice(2)) expect(text).toContain(a);
    }
  });

  it('without stopOnPanic, the crash-and-reboot cycle is a reboot loop', () => {
    const v = watch(crash, { stopOnPanic: false, maxReboots: 2 });
    expect(v).toEqual({ reason: 'reboot_loop', reboots: 2 });
  });

  it('an app that restarts at once is a reboot loop after 3 restarts', () => {
    const v = watch(restart, { until: 'Hello world!' }, 64);
    expect(v).toEqual({ reason: 'reboot_loop', reboots: 3 });
  });
});

describe('serial watcher edge cases', () => {
  const enc = (s: string) => new TextEncoder().encode(s);

  it('matches a pattern with a multi-byte UTF-8 character split between chunks', () => {
    const bytes = enc('boot\r\nTemperatur: 21 °C\r\n');
    const v = watch(bytes, { until: '21 °C' }, 1);
    expect(v?.pattern).toBe('21 °C');
  });

  it('matches a prompt that has no newline yet', () => {
    const w = new SerialWatcher({ until: 'Type a command>' });
    expect(w.push(enc('Type a com'))).toBeUndefined();
    expect(w.push(enc('mand> '))?.reason).toBe('pattern');
  });

  it('does not match a pattern across the end of the output unless it was printed', () => {
    const w = new SerialWatcher({ until: 'Hello world!' });
    w.push(enc('Hello wor'));
    expect(w.end()).toBeUndefined();
  });

  it('reports a panic cut short by the end of the output as incomplete', () => {
    const w = new SerialWatcher({});
    w.push(enc("Guru Meditation Error: Core  0 panic'ed (LoadProhibited). Exception was unhandled.\r\n"));
    w.push(enc('PC      : 0x400d1234  PS      : 0x00060630  A0      : 0x800d5a44\r\n'));
    expect(w.verdict).toBeUndefined();
    const v = w.end();
    expect(v?.reason).toBe('panic');
    expect(v?.panic).toMatchObject({ kind: 'LoadProhibited', pc: '0x400d1234', complete: false });
  });

  it('treats abort() as a panic with its PC', () => {
    const v = watch(
      enc(
        'abort() was called at PC 0x42007e3b on core 0\r\nBacktrace: 0x40081b3e:0x3ffb5a10 0x400d20ae:0x3ffb5a30 |<-CORRUPTED\r\n\r\nRebooting...\r\n',
      ),
      {},
    );
    expect(v?.panic).toMatchObject({ kind: 'abort()', pc: '0x42007e3b', complete: true });
    expect(v?.panic?.addresses).toEqual(['0x42007e3b', '0x40081b3e', '0x400d20ae']);
  });

  it('a line without newline longer than the limit does not grow memory and still counts', () => {
    const w = new SerialWatcher({ until: 'needle' });
    expect(w.push('x'.repeat(10_000))).toBeUndefined();
    expect(w.push('needle')?.reason).toBe('pattern');
  });

  it('panicAddresses ignores stack words outside code', () => {
    const r = panicAddresses([
      'MEPC    : 0x42007a4c  RA      : 0x42007a5e  SP      : 0x3fc8f0d0',
      'Stack memory:',
      '3fc8f0d0: 0x00000000 0x3fc8b000 0x42007a70 0x600c2000',
    ]);
    expect(r).toEqual({ arch: 'riscv', pc: '0x42007a4c', addresses: ['0x42007a5e', '0x42007a70'] });
  });
});
