import type {
  BundleTrust,
  FlashBundleInput,
  FlashProgress,
  FlashResult,
  MonitorSession,
  SerialPortLike,
} from '@aegis/flasher';
import { Store } from '../build/store';
import type { EmulatorBoard } from './emulator-board';
import { pickSerialPort } from './web-serial';
import { virtualBoard } from './virtual-board';

/** `emulator`: the build's firmware in QEMU on the build machine (no flashing; the monitor shows its UART). */
export type BoardKind = 'virtual' | 'serial' | 'emulator';

export interface BoardState {
  kind: BoardKind;
  phase: 'idle' | 'flashing' | 'flashed' | 'failed';
  progress: Record<string, FlashProgress>;
  log: string[];
  result: FlashResult | null;
  error: { code: string; message: string } | null;
  monitoring: boolean;
  monitorError: string | null;
  /** Where the virtual board's chip runs, once it exists. */
  virtualWhere: 'worker' | 'page' | null;
  /** The emulator of the build on screen, when its machine can run the firmware. */
  emulator: EmulatorBoard | null;
}

/**
 * One board (a real one over Web Serial, or the virtual one) and what is being done to it: flash with per-part
 * progress, then a serial monitor. The port is opened by one of them at a time, as on real hardware.
 */
export class BoardSession {
  readonly store = new Store<BoardState>({
    kind: 'virtual',
    phase: 'idle',
    progress: {},
    log: [],
    result: null,
    error: null,
    monitoring: false,
    monitorError: null,
    virtualWhere: null,
    emulator: null,
  });
  private port: SerialPortLike | null = null;
  private portKind: BoardKind | null = null;
  private mon: MonitorSession | null = null;
  private sinks = new Set<(b: Uint8Array) => void>();
  private offEmulator = () => {};

  setKind(kind: BoardKind) {
    const was = this.store.get();
    if (kind === was.kind) return;
    void this.stopMonitor();
    // Like unplugging a board: leaving the emulator ends its run (and frees the machine's emulator slot).
    if (was.kind === 'emulator') void was.emulator?.stop();
    this.store.set({ kind, phase: 'idle', progress: {}, result: null, error: null });
  }

  /** The emulator the page offers (null: none); its output reaches the monitor while it is the chosen board. */
  offerEmulator(e: EmulatorBoard | null) {
    const s = this.store.get();
    if (e === s.emulator) return;
    this.offEmulator();
    this.offEmulator = () => {};
    if (s.kind === 'emulator') this.setKind('virtual');
    void s.emulator?.stop();
    this.store.set({ emulator: e });
    if (e)
      this.offEmulator = e.onOutput((b) => {
        if (this.store.get().kind === 'emulator') this.sinks.forEach((f) => f(b));
      });
  }

  /** Bytes the monitor receives (the xterm subscribes). */
  onSerialData(f: (b: Uint8Array) => void): () => void {
    this.sinks.add(f);
    return () => this.sinks.delete(f);
  }

  private async getPort(): Promise<SerialPortLike> {
    const kind = this.store.get().kind;
    if (this.port && this.portKind === kind) return this.port;
    if (kind === 'virtual') {
      const v = await virtualBoard();
      this.port = v.port;
      this.store.set({ virtualWhere: v.where });
    } else this.port = await pickSerialPort();
    this.portKind = kind;
    return this.port;
  }

  async flash(bundle: FlashBundleInput, trust: BundleTrust, opts: { baud: number; diff: boolean }) {
    this.store.set({ phase: 'flashing', progress: {}, log: [], result: null, error: null });
    try {
      await this.stopMonitor();
      const port = await this.getPort();
      const { flash } = await import('@aegis/flasher');
      const result = await flash({
        port,
        bundle,
        trust,
        baud: opts.baud,
        diff: opts.diff,
        onProgress: (p) => this.store.set((s) => ({ progress: { ...s.progress, [p.part]: p } })),
        onLog: (line) => this.store.set((s) => ({ log: [...s.log.slice(-200), line] })),
      });
      this.store.set({ phase: 'flashed', result });
      await this.startMonitor(115200, true);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      this.store.set({
        phase: 'failed',
        error: { code: err.code ?? 'flash_failed', message: err.message ?? String(e) },
      });
    }
  }

  async startMonitor(baud: number, reset: boolean) {
    await this.stopMonitor();
    this.store.set({ monitorError: null });
    try {
      const port = await this.getPort();
      const { monitor } = await import('@aegis/flasher');
      this.mon = await monitor(port, { baud, reset, onData: (b) => this.sinks.forEach((f) => f(b)) });
      this.store.set({ monitoring: true });
      void this.mon.closed.then(() => {
        this.mon = null;
        this.store.set({ monitoring: false });
      });
    } catch (e) {
      this.store.set({ monitoring: false, monitorError: (e as Error).message });
    }
  }

  async stopMonitor() {
    const m = this.mon;
    this.mon = null;
    if (m) await m.stop();
    this.store.set({ monitoring: false });
  }

  /** EN pulse with IO0 high: the chip restarts into its app and the monitor shows the boot log. */
  async reset() {
    const s = this.store.get();
    if (s.kind === 'emulator') return s.emulator?.reset();
    if (!this.port) return;
    const { runSequence, HARD_RESET_SEQUENCE } = await import('@aegis/flasher');
    if (this.mon) await runSequence(this.port, HARD_RESET_SEQUENCE);
    else await this.startMonitor(115200, true);
  }

  async write(bytes: Uint8Array) {
    const s = this.store.get();
    if (s.kind === 'emulator') return s.emulator?.write(bytes);
    await this.mon?.write(bytes);
  }
}

let shared: BoardSession | null = null;
/** One board session per tab: the build page and the flash hand-off share the port. */
export function boardSession(): BoardSession {
  shared ??= new BoardSession();
  return shared;
}
