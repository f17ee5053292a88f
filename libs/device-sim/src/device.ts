import { CHIPS, ESP32_RTCCALICFG1, esp32CaliValue, type ChipName, type ChipProfile } from './chip-profiles.js';
import { realClock, type Clock } from './clock.js';
import { FlashMemory } from './flash-memory.js';
import { LoaderSession, type LoaderHost } from './loader-session.js';
import { SerialLine } from './serial-line.js';
import { SlipDecoder } from './slip.js';
import { bootFromFlash } from './boot.js';

const utf8 = new TextEncoder();

export const ROM_BAUD = 115200;
/** Relative baud mismatch a UART link still carries. */
const UART_TOLERANCE = 0.025;

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
  /** The board's crystal (default: the chip's usual one; the ESP32-C2 profile has 26 MHz, 40 MHz modules exist). */
  xtalHz?: number;
  /**
   * The crystal the ROM assumes when it sets a new baud rate. ESP32-C2: always 40 MHz. ESP32: its own estimate
   * from the 8 MHz RC calibration, e.g. 42e6 for a chip whose RC drifted 5 % (esptool reads it and compensates).
   * A ROM CHANGE_BAUDRATE to B lands at B × xtalHz / romXtalHz; the stub always lands at B.
   */
  romXtalHz?: number;
  /** eFuse SECURE_DOWNLOAD_ENABLE burnt: the ROM only flashes and identifies itself (not on the ESP32). */
  secureDownloadMode?: boolean;
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
  readonly xtalHz: number;
  readonly romXtalHz: number;
  readonly secureDownloadMode: boolean;

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
    this.xtalHz = options.xtalHz ?? this.chip.xtalHz;
    this.romXtalHz = options.romXtalHz ?? this.chip.romXtalHz ?? this.xtalHz;
    if (this.chip.name === 'esp32') this.registers.set(ESP32_RTCCALICFG1, esp32CaliValue(this.romXtalHz) << 7);
    this.secureDownloadMode = options.secureDownloadMode ?? false;
    if (this.secureDownloadMode && this.chip.securityChipId === null) {
      throw new Error(`${this.chip.displayName} has no Secure Download Mode; simulate an ESP32-S2 or later chip.`);
    }
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
      xtalHz: dev.xtalHz,
      secureDownloadMode: dev.secureDownloadMode,
      transmit: (b) => dev.transmit(b),
      changeBaud: (baud, byStub) => {
        dev.baud = byStub ? baud : Math.round((baud * dev.xtalHz) / dev.romXtalHz);
      },
      // A software reboot keeps the boot mode latched at the last chip reset (download mode: esptool's
      // "soft resetting from the stub will re-load the ROM bootloader"); "run user code" jumps to the app.
      exit: (how) => {
        dev.enterReset();
        dev.boot(how === 'reboot' ? 'download' : 'flash');
      },
      log: (op) => {
        if (dev.commands.length < 1_000_000) dev.commands.push(op);
      },
    };
  }

  private linkOk(hostBaud: number): boolean {
    if (this.usbJtagSerial || this.opts.baudAgnostic) return true;
    if (this.opts.maxBaud !== undefined && this.baud > this.opts.maxBaud) return false;
    // A UART samples mid-bit: a few percent of rate mismatch still reads right, more garbles every byte.
    return Math.abs(hostBaud - this.baud) <= hostBaud * UART_TOLERANCE;
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
      if (this.session !== session) return; // the command reset the chip: mode is already the new one
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
