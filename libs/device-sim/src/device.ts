import { CHIPS, type ChipName, type ChipProfile } from './chip-profiles.js';
import { realClock, type Clock } from './clock.js';
import { FlashMemory } from './flash-memory.js';
import { LoaderSession, type LoaderHost } from './loader-session.js';
import { SerialLine } from './serial-line.js';
import { SlipDecoder } from './slip.js';
import { bootFromFlash } from './boot.js';

const utf8 = new TextEncoder();

export const ROM_BAUD = 115200;

export interface DeviceOptions {
  chip?: ChipName;
  /** Flash size in bytes (default 4 MiB). */
  flashSize?: number;
  /** Initial flash contents from offset 0 (the rest stays erased). */
  flashImage?: Uint8Array;
  /**
   * Connected through the chip's own USB-Serial-JTAG (VID 0x303a, PID 0x1001): DTR/RTS are interpreted by
   * the USB peripheral (strap latched on RTS rising, boot on RTS falling) and the baud rate is meaningless.
   */
  usbJtagSerial?: boolean;
  /** Bytes take the time the line needs: 10 bits per byte at the baud rate (or usbBytesPerSec over USB). */
  lineRate?: boolean;
  usbBytesPerSec?: number;
  /** Highest baud the USB-UART bridge and wiring carry; above it every byte is garbled. */
  maxBaud?: number;
  /** Start in the ROM's download mode (as if IO0 was held low at power-on): used where no DTR/RTS exists. */
  startInDownloadMode?: boolean;
  /** Ignore baud mismatches entirely (a TCP bridge, where there is no UART between host and chip). */
  baudAgnostic?: boolean;
  mac?: Uint8Array;
  /** How long after EN rises the chip samples IO0 (the EN RC delay). */
  strapDelayMs?: number;
  clock?: Clock;
}

export type DeviceMode = 'reset' | 'rom' | 'stub' | 'app';

export interface Signals {
  dtr: boolean;
  rts: boolean;
}

/** What a host port (shim, TCP socket, test stream) sees of the device. */
export interface HostLink {
  write(bytes: Uint8Array): void;
  setSignals(signals: Partial<Signals>): void;
  setBaud(baud: number): void;
  close(): void;
}

/**
 * A simulated ESP chip on a serial line: reset/strapping from DTR/RTS, the ROM loader or the flasher stub
 * in download mode, and a normal boot that checks the flash and prints the boot log.
 */
export class SimDevice {
  readonly chip: ChipProfile;
  readonly flash: FlashMemory;
  readonly usbJtagSerial: boolean;
  mode: DeviceMode = 'reset';
  /** Current UART rate of the chip. */
  baud = ROM_BAUD;
  /** Boot log text of the last normal boot (also sent to the host if one is attached). */
  lastBootLog = '';
  bootCount = 0;
  /** Names of the loader commands received, in order (tests assert on them). */
  readonly commands: string[] = [];
  readonly registers: Map<number, number>;

  private readonly opts: Required<
    Pick<DeviceOptions, 'lineRate' | 'usbBytesPerSec' | 'strapDelayMs' | 'baudAgnostic'>
  > &
    DeviceOptions;
  private readonly clock: Clock;
  private session?: LoaderSession;
  private readonly decoder = new SlipDecoder();
  private signals: Signals = { dtr: false, rts: false };
  private host?: { sink: (b: Uint8Array) => void; baud: number; id: number };
  private hostIds = 0;
  private bootTimer?: unknown;
  private usbStrapDownload = false;
  private readonly toHost: SerialLine;
  private readonly toDevice: SerialLine;

  constructor(options: DeviceOptions = {}) {
    this.opts = { lineRate: false, usbBytesPerSec: 1_000_000, strapDelayMs: 5, baudAgnostic: false, ...options };
    this.clock = options.clock ?? realClock;
    this.chip = CHIPS[options.chip ?? 'esp32c3'];
    this.flash = new FlashMemory(options.flashSize ?? 4 * 1024 * 1024, options.flashImage);
    this.usbJtagSerial = options.usbJtagSerial ?? false;
    const mac = options.mac ?? new Uint8Array([0x24, 0x0a, 0xc4, 0x12, 0x34, 0x56]);
    this.registers = this.chip.registers(mac);
    this.toHost = new SerialLine(this.clock, (b) => this.host?.sink(b));
    this.toDevice = new SerialLine(this.clock, (b) => this.receive(b));
    this.boot(options.startInDownloadMode ? 'download' : 'flash');
  }

  /** Open the host side of the line (a port being opened). Only one host at a time, like a real tty. */
  attachHost(sink: (bytes: Uint8Array) => void, baud: number): HostLink {
    if (this.host) throw new Error('The simulated device is already attached to a host port.');
    const id = ++this.hostIds;
    this.host = { sink, baud, id };
    const alive = () => this.host?.id === id;
    return {
      write: (bytes) => alive() && this.hostWrite(bytes),
      setSignals: (s) => alive() && this.setSignals(s),
      setBaud: (b) => {
        if (alive()) this.host!.baud = b;
      },
      close: () => {
        if (!alive()) return;
        this.host = undefined;
        this.toHost.clear();
      },
    };
  }

  get hostAttached(): boolean {
    return this.host !== undefined;
  }

  /** Press RESET with IO0 (BOOT) held or not: for tests and the "virtual board" buttons. */
  pressReset(download = false): void {
    this.enterReset();
    this.boot(download ? 'download' : 'flash');
  }

  setSignals(s: Partial<Signals>): void {
    const prev = this.signals;
    const next = { dtr: s.dtr ?? prev.dtr, rts: s.rts ?? prev.rts };
    this.signals = next;
    if (this.usbJtagSerial) {
      // USB-Serial-JTAG: RTS rising resets and latches the strap from DTR; RTS falling releases reset.
      if (next.rts && !prev.rts) {
        this.usbStrapDownload = next.dtr;
        this.enterReset();
      } else if (!next.rts && prev.rts) {
        this.boot(this.usbStrapDownload ? 'download' : 'flash');
      }
      return;
    }
    // Classic two-transistor auto-reset: EN low iff RTS∧¬DTR, IO0 low iff DTR∧¬RTS.
    const enBefore = !(prev.rts && !prev.dtr);
    const enNow = !(next.rts && !next.dtr);
    if (enBefore && !enNow) this.enterReset();
    else if (!enBefore && enNow) {
      // IO0 is sampled a moment after EN rises (the RC on EN), so DTR/RTS set in separate calls still count.
      this.bootTimer = this.clock.setTimeout(() => {
        this.bootTimer = undefined;
        const io0Low = this.signals.dtr && !this.signals.rts;
        this.boot(io0Low ? 'download' : 'flash');
      }, this.opts.strapDelayMs);
    }
  }

  private enterReset(): void {
    if (this.bootTimer !== undefined) this.clock.clearTimeout(this.bootTimer);
    this.bootTimer = undefined;
    this.mode = 'reset';
    this.session = undefined;
    this.decoder.reset();
    this.toDevice.clear();
    this.baud = ROM_BAUD;
  }

  private boot(kind: 'download' | 'flash'): void {
    this.baud = ROM_BAUD;
    this.decoder.reset();
    this.bootCount++;
    if (kind === 'download') {
      this.mode = 'rom';
      this.session = new LoaderSession(this.loaderHost());
      this.transmit(utf8.encode(this.chip.romBanner + this.chip.downloadBoot));
      return;
    }
    this.mode = 'app';
    this.session = undefined;
    const log = this.chip.romBanner + this.chip.flashBoot + bootFromFlash(this.chip, this.flash).log;
    this.lastBootLog = log;
    this.transmit(utf8.encode(log));
  }

  private loaderHost(): LoaderHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const dev = this;
    return {
      chip: dev.chip,
      flash: dev.flash,
      registers: dev.registers,
      get baud() {
        return dev.baud;
      },
      transmit: (b) => dev.transmit(b),
      changeBaud: (baud) => {
        dev.baud = baud;
      },
      // Both "reboot" and "run user code" end in the app here (IO0 is high by then).
      exit: () => {
        dev.enterReset();
        dev.boot('flash');
      },
      log: (op) => {
        if (dev.commands.length < 1_000_000) dev.commands.push(op);
      },
    };
  }

  private linkOk(hostBaud: number): boolean {
    if (this.usbJtagSerial || this.opts.baudAgnostic) return true;
    if (this.opts.maxBaud !== undefined && this.baud > this.opts.maxBaud) return false;
    return hostBaud === this.baud;
  }

  private rate(baud: number): number | null {
    if (!this.opts.lineRate) return null;
    return this.usbJtagSerial ? this.opts.usbBytesPerSec : baud / 10;
  }

  /** Device → host. Bytes sent while nobody has the port open are lost, as on a real UART. */
  private transmit(bytes: Uint8Array): void {
    if (!this.host) return;
    const out = this.linkOk(this.host.baud) ? bytes : garble(bytes);
    this.toHost.send(out, this.rate(this.baud));
  }

  private hostWrite(bytes: Uint8Array): void {
    const hostBaud = this.host!.baud;
    const out = this.linkOk(hostBaud) ? bytes : garble(bytes);
    this.toDevice.send(out, this.rate(hostBaud));
  }

  private receive(bytes: Uint8Array): void {
    const session = this.session;
    if (!session || (this.mode !== 'rom' && this.mode !== 'stub')) return;
    for (const frame of this.decoder.push(bytes)) {
      if (this.session !== session) return; // a command reset the chip
      session.handleFrame(frame);
      if (session.stub) this.mode = 'stub';
    }
  }
}

/** What a UART at the wrong rate makes of a byte stream: fewer bytes, none of them the ones sent. */
function garble(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(bytes.length / 2));
  for (let i = 0; i < out.length; i++) {
    const b = bytes[i * 2] ^ 0x5a;
    out[i] = b === 0xc0 || b === 0xdb ? 0x00 : b;
  }
  return out;
}
