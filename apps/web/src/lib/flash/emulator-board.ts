import { CHIPS, chipByImageId } from '@aegis/esp';
import { EMULATOR_DEFAULT_SECONDS, EMULATOR_MAX_IMAGE_BYTES, EmulatedChip } from '@aegis/protocol';
import { Store } from '../build/store';
import {
  EmulatorClient,
  EmulatorError,
  exitText,
  wrapBrowserDataChannel,
  type EmulatorExit,
} from '@aegis/peer/browser';

export type EmulatorPhase = 'idle' | 'starting' | 'running' | 'resetting' | 'stopping' | 'ended';

export interface EmulatorRunState {
  phase: EmulatorPhase;
  chip: EmulatedChip | null;
  /** The time limit in force for the current run (the machine may lower what was asked). */
  seconds: number | null;
  flashBytes: number | null;
  /** Boots of this run: 1 after start, +1 per reset. */
  boots: number;
  exit: EmulatorExit | null;
  error: { code: string; message: string } | null;
}

/** The chip names the page shows. */
export const EMULATED_CHIP_LABEL: Record<EmulatedChip, string> = { esp32c3: 'ESP32-C3', esp32: 'ESP32' };

/** The build's target when the machine's QEMU has a machine for it, else null. */
export function emulatedChip(target: string | null | undefined): EmulatedChip | null {
  const r = EmulatedChip.safeParse(target);
  return r.success ? r.data : null;
}

/** A flash image the user picked to run instead of the build's own: a merged image from offset 0. */
export interface EmulatorImage {
  name: string;
  bytes: Uint8Array;
  chip: EmulatedChip;
}

/** Why a picked file cannot run in the emulator (shown as is), or null. */
export class EmulatorImageError extends Error {}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0)} MiB`;

/**
 * Checks a file the user picked before any byte goes to the machine: no larger than the 16 MiB of flash QEMU
 * takes, and a merged image from offset 0, i.e. an ESP32-C3 bootloader at 0x0 or an ESP32 bootloader at 0x1000
 * (the same test the machine makes). Throws EmulatorImageError saying what to pick instead.
 */
export function checkEmulatorImage(name: string, bytes: Uint8Array): EmulatorImage {
  if (bytes.length === 0) throw new EmulatorImageError(`${name} is empty; pick a merged flash image (.bin).`);
  if (bytes.length > EMULATOR_MAX_IMAGE_BYTES)
    throw new EmulatorImageError(
      `${name} is ${mib(bytes.length)}; the emulator takes at most ${mib(EMULATOR_MAX_IMAGE_BYTES)} of flash.`,
    );
  for (const chip of EmulatedChip.options) {
    const at = CHIPS[chip].bootloaderOffset;
    if (bytes.length < at + 24 || bytes[at] !== 0xe9) continue;
    if (chipByImageId(bytes[at + 12] | (bytes[at + 13] << 8))?.target === chip) return { name, bytes, chip };
  }
  throw new EmulatorImageError(
    `${name} is not a merged flash image for the ESP32-C3 or ESP32: it has no bootloader at 0x0 (ESP32-C3) or ` +
      '0x1000 (ESP32). Pick a merged image from flash offset 0, such as this page’s “Merged image (.bin)” or ' +
      '`esptool.py merge_bin` output.',
  );
}

const dim = (s: string) => new TextEncoder().encode(`\r\n\x1b[2m[${s}]\x1b[0m\r\n`);

/**
 * A build's firmware running in QEMU on its build machine, as a board for the monitor: run, reset, stop, UART both
 * ways. The `emulator` channel is opened on the first run (`open`), on the build's existing WebRTC link.
 */
export class EmulatorBoard {
  readonly store = new Store<EmulatorRunState>({
    phase: 'idle',
    chip: null,
    seconds: null,
    flashBytes: null,
    boots: 0,
    exit: null,
    error: null,
  });
  private client: EmulatorClient | null = null;
  private channel: RTCDataChannel | null = null;
  private readonly sinks = new Set<(b: Uint8Array) => void>();

  constructor(private readonly open: () => Promise<RTCDataChannel>) {}

  /** UART output, plus a dim line where a run starts, reboots or ends. */
  onOutput(f: (b: Uint8Array) => void): () => void {
    this.sinks.add(f);
    return () => this.sinks.delete(f);
  }
  private emit(b: Uint8Array) {
    for (const f of this.sinks) f(b);
  }

  private connecting: Promise<EmulatorClient> | null = null;

  /**
   * Opens the emulator channel ahead of the first run (when the emulated board is chosen): the machine then makes
   * the run's sandbox while the user is still deciding, and Run only has to start QEMU. Failures surface at Run.
   */
  prepare() {
    void this.connect().catch(() => undefined);
  }

  /** The open channel's client, opening the channel once for callers that ask at the same time. */
  private connect(): Promise<EmulatorClient> {
    if (this.client && this.channel?.readyState === 'open') return Promise.resolve(this.client);
    this.connecting ??= this.openClient().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async openClient(): Promise<EmulatorClient> {
    this.client?.dispose();
    const dc = await this.open();
    const c = new EmulatorClient(wrapBrowserDataChannel(dc));
    this.channel = dc;
    this.client = c;
    c.onOutput((b) => this.emit(b));
    c.onReady((r) => {
      const label = EMULATED_CHIP_LABEL[r.chip];
      this.store.set((s) => ({
        phase: 'running',
        chip: r.chip,
        seconds: r.seconds,
        flashBytes: r.flash_bytes,
        boots: s.boots + 1,
      }));
      this.emit(dim(`emulated ${label} booting, stops after ${r.seconds} s`));
    });
    c.onExit((x) => {
      this.store.set({ phase: 'ended', exit: x });
      this.emit(dim(`emulator ${exitText(x)}`));
    });
    c.onError((e) => this.store.set({ error: { code: e.code, message: e.message } }));
    dc.addEventListener('close', () => {
      if (this.channel !== dc) return;
      const p = this.store.get().phase;
      if (p !== 'idle' && p !== 'ended')
        this.store.set({
          phase: 'ended',
          error: {
            code: 'channel_closed',
            message: 'The connection to the build machine closed; the emulator stopped.',
          },
        });
    });
    return c;
  }

  /** Boots the build's image, or `image` instead of it; `seconds` is the run's time limit. */
  async run(seconds = EMULATOR_DEFAULT_SECONDS, image?: EmulatorImage) {
    const p = this.store.get().phase;
    if (p === 'starting' || p === 'running' || p === 'resetting' || p === 'stopping') return;
    this.store.set({ phase: 'starting', exit: null, error: null, boots: 0 });
    try {
      const c = await this.connect();
      await c.start(image ? { seconds, image: image.bytes } : { seconds });
    } catch (e) {
      const err = e instanceof EmulatorError ? e : new EmulatorError('emulator_failed', (e as Error).message);
      // An exit before `ready` is already shown by onExit; keep its reason and add why the start failed.
      this.store.set({ phase: 'ended', error: { code: err.code, message: err.message } });
    }
  }

  /** Reboots the image on the same flash, as the reset button of a board does. */
  async reset() {
    if (!this.client || this.store.get().phase !== 'running') return;
    this.store.set({ phase: 'resetting', error: null });
    try {
      await this.client.reset();
    } catch (e) {
      const err = e as EmulatorError;
      this.store.set((s) => ({
        phase: s.phase === 'resetting' ? 'running' : s.phase,
        error: { code: err.code ?? 'emulator_failed', message: err.message },
      }));
    }
  }

  async stop() {
    const p = this.store.get().phase;
    if (!this.client || p === 'idle' || p === 'ended' || p === 'stopping') return;
    this.store.set({ phase: 'stopping' });
    try {
      await this.client.stop();
    } catch (e) {
      const err = e as EmulatorError;
      this.store.set({ phase: 'ended', error: { code: err.code ?? 'emulator_failed', message: err.message } });
    }
  }

  async write(bytes: Uint8Array) {
    if (this.store.get().phase === 'running') await this.client?.write(bytes);
  }
}

const boards = new WeakMap<object, EmulatorBoard>();

/** One emulator board per build link (its `emulator` channel carries one run at a time). */
export function emulatorBoardFor(owner: object, open: () => Promise<RTCDataChannel>): EmulatorBoard {
  let b = boards.get(owner);
  if (!b) {
    b = new EmulatorBoard(open);
    boards.set(owner, b);
  }
  return b;
}
