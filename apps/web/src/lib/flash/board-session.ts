import type {
  BundleTrust,
  FlashBundleInput,
  FlashProgress,
  FlashResult,
  MonitorSession,
  SerialPortLike,
} from '@aegis/flasher';
import { Store } from '../build/store';
import { eraseBoard, identifyBoard, readBoardFlash, type BoardIdentity } from './board-ops';
import type { EmulatorBoard } from './emulator-board';
import { pickSerialPort } from './web-serial';
import { virtualBoard } from './virtual-board';

/** `emulator`: the build's firmware in QEMU on the build machine (no flashing; the monitor shows its UART). */
export type BoardKind = 'virtual' | 'serial' | 'emulator';

/** What the board is doing while `phase` is 'flashing' or 'working'; Cancel is offered before anything is written. */
export type BoardStep = 'choosing-port' | 'connecting' | 'writing' | 'erasing' | 'reading' | null;

/** The outcome of a board tool (erase, identify, read) for the page to show. */
export interface BoardOpResult {
  kind: 'erased' | 'identified' | 'read';
  identity: BoardIdentity;
  /** The bytes read (kind 'read'). */
  data?: Uint8Array;
  offset?: number;
}

export interface BoardState {
  kind: BoardKind;
  /** 'working': erase, identify or read (not a flash). */
  phase: 'idle' | 'flashing' | 'flashed' | 'failed' | 'working';
  step: BoardStep;
  /** The chip and flash size of the board last connected (DIY mode checks offsets against it). */
  identity: BoardIdentity | null;
  opResult: BoardOpResult | null;
  /** Set when the user cancelled the last operation (shown until the next one starts). */
  cancelled: string | null;
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
    step: null,
    identity: null,
    opResult: null,
    cancelled: null,
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
  /** The operation in progress (a cancelled one keeps running until the board lets go of the port). */
  private running: Promise<unknown> = Promise.resolve();
  private abort: AbortController | null = null;
  private cancelChoice: ((e: Error) => void) | null = null;

  setKind(kind: BoardKind) {
    const was = this.store.get();
    if (kind === was.kind) return;
    void this.stopMonitor();
    // Like unplugging a board: leaving the emulator ends its run (and frees the machine's emulator slot).
    if (was.kind === 'emulator') void was.emulator?.stop();
    this.store.set({
      kind,
      phase: 'idle',
      step: null,
      progress: {},
      result: null,
      error: null,
      identity: null,
      opResult: null,
      cancelled: null,
    });
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
    } else {
      // The browser's port chooser cannot be closed from the page: Cancel stops waiting for it, and a port
      // chosen after that is left alone.
      this.store.set({ step: 'choosing-port' });
      const cancelled = new Promise<never>((_, reject) => (this.cancelChoice = reject));
      try {
        this.port = await Promise.race([pickSerialPort(), cancelled]);
      } finally {
        this.cancelChoice = null;
      }
    }
    this.portKind = kind;
    return this.port;
  }

  /**
   * Runs one operation on the board: waits for the previous one to let go of the port (a cancelled one may still
   * be finishing its connect attempts), stops the monitor, takes the port, reports failures as `error`.
   */
  private async run(
    phase: 'flashing' | 'working',
    body: (port: SerialPortLike, signal: AbortSignal) => Promise<void>,
  ): Promise<void> {
    const ac = new AbortController();
    this.abort = ac;
    this.store.set({
      phase,
      step: null,
      progress: {},
      log: [],
      result: null,
      error: null,
      opResult: null,
      cancelled: null,
    });
    const previous = this.running;
    const op = (async () => {
      await previous.catch(() => {});
      await this.stopMonitor();
      const port = await this.getPort();
      if (ac.signal.aborted) throw Object.assign(new Error('cancelled'), { code: 'aborted' });
      this.store.set({ step: 'connecting' });
      await body(port, ac.signal);
    })();
    this.running = op;
    try {
      await op;
    } catch (e) {
      if (ac.signal.aborted) return; // the page already shows "cancelled"
      const err = e as { code?: string; message?: string };
      this.store.set({
        phase: 'failed',
        step: null,
        error: { code: err.code ?? 'flash_failed', message: err.message ?? String(e) },
      });
    } finally {
      if (this.abort === ac) this.abort = null;
    }
  }

  /**
   * Cancel while the port chooser is open or the board is being connected (nothing written yet): the page is
   * free at once; the flasher stops at its next check and lets go of the port before the next operation starts.
   */
  cancel() {
    const s = this.store.get();
    if (!this.abort || (s.phase !== 'flashing' && s.phase !== 'working')) return;
    this.abort.abort();
    this.cancelChoice?.(Object.assign(new Error('No port was chosen.'), { code: 'aborted' }));
    this.store.set({
      phase: 'idle',
      step: null,
      progress: {},
      cancelled:
        s.step === 'choosing-port'
          ? 'Cancelled while choosing the port; nothing was written.'
          : s.step === 'writing'
            ? 'Cancelled while writing: the board holds a partial image; flash it again before use.'
            : 'Cancelled while connecting; nothing was written.',
    });
  }

  async flash(bundle: FlashBundleInput, trust: BundleTrust, opts: { baud: number; diff: boolean }) {
    await this.run('flashing', async (port, signal) => {
      const { flash } = await import('@aegis/flasher');
      const result = await flash({
        port,
        bundle,
        trust,
        baud: opts.baud,
        diff: opts.diff,
        signal,
        onProgress: (p) => this.store.set((s) => ({ step: 'writing', progress: { ...s.progress, [p.part]: p } })),
        onLog: (line) => this.store.set((s) => ({ log: [...s.log.slice(-200), line] })),
      });
      if (signal.aborted) return;
      this.store.set({ phase: 'flashed', step: null, result });
      await this.startMonitor(115200, true);
    });
  }

  /** Connect and read the chip and flash size (nothing is written). */
  async identify(baud: number): Promise<BoardIdentity | null> {
    let id: BoardIdentity | null = null;
    await this.run('working', async (port, signal) => {
      id = await identifyBoard(port, { baud, signal, onLog: (l) => this.log(l) });
      if (signal.aborted) return;
      this.store.set({ phase: 'idle', step: null, identity: id, opResult: { kind: 'identified', identity: id } });
    });
    return id;
  }

  /** Erase the whole flash chip; the board then has no app (the monitor shows the ROM's complaint). */
  async erase(baud: number) {
    await this.run('working', async (port, signal) => {
      const id = await eraseBoard(port, {
        baud,
        signal,
        onLog: (l) => {
          this.log(l);
          if (/erasing/i.test(l)) this.store.set({ step: 'erasing' });
        },
      });
      if (signal.aborted) return;
      this.store.set({ phase: 'idle', step: null, identity: id, opResult: { kind: 'erased', identity: id } });
    });
  }

  /** Read a range of flash (a backup, or to look at what the board holds). */
  async readFlash(offset: number, length: number, baud: number) {
    await this.run('working', async (port, signal) => {
      const r = await readBoardFlash(port, offset, length, {
        baud,
        signal,
        onLog: (l) => this.log(l),
        onProgress: () => this.store.get().step !== 'reading' && this.store.set({ step: 'reading' }),
      });
      if (signal.aborted) return;
      this.store.set({
        phase: 'idle',
        step: null,
        identity: r.identity,
        opResult: { kind: 'read', identity: r.identity, data: r.data, offset },
      });
    });
  }

  private log(line: string) {
    this.store.set((s) => ({ log: [...s.log.slice(-200), line] }));
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
